/** A FIFO of frames bounded in bytes: pushing past the bound drops the oldest frames. */
export class FrameQueue {
  private items: Uint8Array[] = [];
  private head = 0;
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  get bytes(): number {
    return this.size;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /**
   * Appends a frame and returns how many older frames were dropped to make room.
   * A frame larger than the whole bound is not queued; that counts as one drop.
   */
  push(frame: Uint8Array): number {
    if (frame.byteLength > this.maxBytes) return 1;
    this.items.push(frame);
    this.size += frame.byteLength;
    let dropped = 0;
    while (this.size > this.maxBytes) {
      this.shift();
      dropped++;
    }
    return dropped;
  }

  shift(): Uint8Array | undefined {
    if (this.head >= this.items.length) return undefined;
    const frame = this.items[this.head];
    this.items[this.head] = EMPTY;
    this.head++;
    if (frame !== undefined) this.size -= frame.byteLength;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return frame;
  }

  /** Removes and returns frames from the front, at least one and at most `maxBytes` (or `maxFrames`) in total. */
  takeBatch(maxBytes: number, maxFrames: number): Uint8Array[] {
    const batch: Uint8Array[] = [];
    let bytes = 0;
    while (this.head < this.items.length && batch.length < maxFrames) {
      const next = this.items[this.head];
      if (next === undefined) break;
      if (batch.length > 0 && bytes + next.byteLength > maxBytes) break;
      batch.push(next);
      bytes += next.byteLength;
      this.shift();
    }
    return batch;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.size = 0;
  }
}

const EMPTY = new Uint8Array(0);
