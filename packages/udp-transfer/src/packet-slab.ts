/** Bytes per slab block: about 700 default-size DATA packets. */
const SLAB_BYTES = 1024 * 1024;

/**
 * DATA packet memory for the whole server, handed out in slices of one large
 * block. A datagram's memory is only needed until the kernel has it; with the
 * socket's send queue empty every earlier `send` has completed, and the block is
 * reused from its start (no allocation, cache-warm memory). While sends are
 * queued, a full block is replaced by a fresh one (the old one stays referenced
 * by the queued sends until they finish).
 */
export class PacketSlab {
  private block = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private used = 0;

  alloc(bytes: number): Buffer {
    if (bytes > SLAB_BYTES) return Buffer.allocUnsafe(bytes);
    if (this.used + bytes > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(SLAB_BYTES);
      this.used = 0;
    }
    const buf = this.block.subarray(this.used, this.used + bytes);
    this.used += (bytes + 7) & ~7;
    return buf;
  }

  /** Only when nothing handed out is still waiting to be sent. */
  reset(): void {
    this.used = 0;
  }
}
