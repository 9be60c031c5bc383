/**
 * The optimizer kernels' WebAssembly linear memory as a heap of float32 regions: allocated zeroed
 * and 16-byte aligned, released regions reused first-fit (neighbours merged), the memory grown when
 * nothing free fits. Growing detaches every view of the old buffer, so a region is an offset, and
 * `view` makes a fresh Float32Array each time it is asked.
 */
import { WASM_PAGE_BYTES, type WasmMemory } from "./wasm-api.ts";

/** Bytes of the alignment unit (one f32x4 vector). */
const ALIGN = 16;

/** `length` float32 values at `byteOffset` of a KernelMemory, until released. */
export class MemoryRegion {
  /** @internal Created by KernelMemory.allocate only. */
  constructor(
    readonly byteOffset: number,
    readonly length: number,
    /** Bytes reserved for it (length × 4 rounded up to the alignment). */
    readonly byteSize: number,
    readonly owner: KernelMemory,
  ) {}
  /** False once released; a released region must not be used. */
  live = true;
}

interface FreeBlock {
  start: number;
  end: number;
}

/** A region allocator over one WebAssembly.Memory. */
export class KernelMemory {
  private readonly memory: WasmMemory;
  private heap: Float32Array;
  /** Free blocks below `top`, sorted by start, never adjacent. */
  private readonly free: FreeBlock[] = [];
  /** End of the highest allocated region; everything above is free. */
  private top = 0;
  private live = 0;

  constructor(memory: WasmMemory) {
    this.memory = memory;
    this.heap = new Float32Array(memory.buffer);
  }

  /** Bytes the memory holds (it never shrinks). */
  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes held by live regions (with their alignment padding). */
  get liveBytes(): number {
    return this.live;
  }

  /** A zeroed region of `length` floats; grows the memory when no free block fits. */
  allocate(length: number): MemoryRegion {
    if (!Number.isInteger(length) || length < 0) {
      throw new Error(`kernel memory region length must be an integer >= 0, got ${String(length)}`);
    }
    const size = Math.ceil((length * 4) / ALIGN) * ALIGN;
    const start = this.takeFree(size) ?? this.takeTop(size);
    this.live += size;
    const region = new MemoryRegion(start, length, size, this);
    this.view(region).fill(0);
    return region;
  }

  /** Returns `region` to the free blocks; releasing it twice or releasing another memory's is an error. */
  release(region: MemoryRegion): void {
    this.check(region);
    region.live = false;
    this.live -= region.byteSize;
    if (region.byteSize === 0) return;
    const block = { start: region.byteOffset, end: region.byteOffset + region.byteSize };
    let i = this.free.findIndex((b) => b.start > block.start);
    if (i < 0) i = this.free.length;
    this.free.splice(i, 0, block);
    const next = this.free[i + 1];
    if (next !== undefined && next.start === block.end) {
      block.end = next.end;
      this.free.splice(i + 1, 1);
    }
    const prev = this.free[i - 1];
    if (prev !== undefined && prev.end === block.start) {
      prev.end = block.end;
      this.free.splice(i, 1);
    }
    const last = this.free[this.free.length - 1];
    if (last !== undefined && last.end === this.top) {
      this.top = last.start;
      this.free.pop();
    }
  }

  /** A view of `region` over the current buffer: use it at once, never across an `allocate`. */
  view(region: MemoryRegion): Float32Array {
    this.check(region);
    const start = region.byteOffset / 4;
    return this.buffer().subarray(start, start + region.length);
  }

  /** The whole memory as floats, renewed after a growth detached the old buffer. */
  buffer(): Float32Array {
    if (this.heap.buffer !== this.memory.buffer) this.heap = new Float32Array(this.memory.buffer);
    return this.heap;
  }

  private check(region: MemoryRegion): void {
    if (region.owner !== this) throw new Error("kernel memory region belongs to another kernel memory");
    if (!region.live) throw new Error("kernel memory region was released");
  }

  private takeFree(size: number): number | undefined {
    if (size === 0) return 0;
    const i = this.free.findIndex((b) => b.end - b.start >= size);
    const block = this.free[i];
    if (block === undefined) return undefined;
    const start = block.start;
    block.start += size;
    if (block.start === block.end) this.free.splice(i, 1);
    return start;
  }

  private takeTop(size: number): number {
    const start = this.top;
    const end = start + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / WASM_PAGE_BYTES));
      } catch (e) {
        throw new Error(
          `optimizer kernel memory cannot grow to ${end} bytes: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    this.top = end;
    return start;
  }
}
