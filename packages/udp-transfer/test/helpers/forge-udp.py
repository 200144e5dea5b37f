"""Sends UDP datagrams with a forged IPv4 source address through a raw socket (needs root).

Usage: python3 forge-udp.py SRC_IP SRC_PORT DST_IP DST_PORT < payloads
One datagram per input line, its payload in hex. Prints the number of bytes sent
(UDP payload bytes, the figure amplification is measured against).
"""
import socket
import struct
import sys

src, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
# IPPROTO_RAW implies IP_HDRINCL: we write the IP header, source address included.
# The kernel fills in the IP checksum and the identification when they are zero.
sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
sent = 0
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    payload = bytes.fromhex(line)
    udp = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload  # UDP checksum 0: none (IPv4)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0x4000, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    sock.sendto(ip + udp, (dst, 0))
    sent += len(payload)
print(sent)
