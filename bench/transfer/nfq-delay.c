/*
 * nfq-delay: holds every packet of an NFQUEUE for a fixed delay, in order, then
 * accepts it. This kernel has no netem; this adds one-way delay.
 *   iptables-legacy -t raw -A PREROUTING -i <dev> -j NFQUEUE --queue-num 0 --queue-bypass
 *   nfq-delay <delay-ms> [queue-num]
 * Build: cc -O2 -o nfq-delay nfq-delay.c -lnetfilter_queue -lnfnetlink
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <libnfnetlink/libnfnetlink.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#define CAP (1u << 17)
static uint32_t ids[CAP];
static uint64_t due[CAP];
static uint32_t head, tail;
static uint64_t delay_ns;
static struct nfq_q_handle *qh;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *q, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)msg; (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == NULL) return 0;
  uint32_t id = ntohl(ph->packet_id);
  if (tail - head >= CAP) return nfq_set_verdict(q, id, NF_ACCEPT, 0, NULL); /* full: no delay */
  ids[tail % CAP] = id;
  due[tail % CAP] = now_ns() + delay_ns;
  tail++;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: %s <delay-ms> [queue]\n", argv[0]); return 2; }
  delay_ns = (uint64_t)(atof(argv[1]) * 1e6);
  int queue = argc > 2 ? atoi(argv[2]) : 0;
  struct nfq_handle *h = nfq_open();
  if (h == NULL) { perror("nfq_open"); return 1; }
  nfq_unbind_pf(h, AF_INET);
  if (nfq_bind_pf(h, AF_INET) < 0) { perror("nfq_bind_pf"); return 1; }
  qh = nfq_create_queue(h, queue, &on_packet, NULL);
  if (qh == NULL) { perror("nfq_create_queue"); return 1; }
  if (nfq_set_mode(qh, NFQNL_COPY_PACKET, 0) < 0) { perror("nfq_set_mode"); return 1; }
  nfq_set_queue_maxlen(qh, CAP);
  nfnl_rcvbufsiz(nfq_nfnlh(h), 16 * 1024 * 1024);
  int fd = nfq_fd(h);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
  char buf[65536] __attribute__((aligned));
  fprintf(stderr, "nfq-delay: queue %d, %.3f ms\n", queue, delay_ns / 1e6);
  for (;;) {
    int timeout = -1;
    if (head != tail) {
      uint64_t n = now_ns(), d = due[head % CAP];
      timeout = d > n ? (int)((d - n) / 1000000) : 0;
    }
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r = poll(&p, 1, timeout);
    if (r > 0) {
      for (;;) {
        int len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (len <= 0) break;
        nfq_handle_packet(h, buf, len);
      }
    }
    uint64_t n = now_ns();
    while (head != tail && due[head % CAP] <= n) {
      nfq_set_verdict(qh, ids[head % CAP], NF_ACCEPT, 0, NULL);
      head++;
    }
  }
}
