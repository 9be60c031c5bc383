import { describe, expect, it } from "vitest";
import { KernelMemory, type MemoryRegion } from "./kernel-memory.ts";
import { runtimeWasm, WASM_PAGE_BYTES } from "./wasm-api.ts";

const memory = (): KernelMemory => new KernelMemory(new (runtimeWasm().Memory)({ initial: 1 }));

describe("KernelMemory", () => {
  it("hands out zeroed 16-byte aligned regions that do not overlap", () => {
    const mem = memory();
    const a = mem.allocate(3);
    const b = mem.allocate(5);
    const c = mem.allocate(0);
    expect([a.byteOffset, b.byteOffset]).toEqual([0, 16]);
    expect([a.byteSize, b.byteSize, c.byteSize]).toEqual([16, 32, 0]);
    mem.view(a).fill(1);
    mem.view(b).fill(2);
    expect(mem.view(a)).toEqual(new Float32Array(3).fill(1));
    expect(mem.view(b)).toEqual(new Float32Array(5).fill(2));
    expect(mem.liveBytes).toBe(48);
  });

  it("keeps every region's values when a later allocation grows the memory", () => {
    const mem = memory();
    const a = mem.allocate(7);
    mem.view(a).set([1, 2, 3, 4, 5, 6, 7]);
    const big = mem.allocate(WASM_PAGE_BYTES);
    expect(mem.reservedBytes).toBeGreaterThan(WASM_PAGE_BYTES * 4);
    expect(big.byteOffset).toBe(32);
    expect(mem.view(a)).toEqual(Float32Array.from([1, 2, 3, 4, 5, 6, 7]));
    expect(mem.view(big).every((x) => x === 0)).toBe(true);
  });

  it("reuses a released region first-fit, zeroed, and merges it with free neighbours on both sides", () => {
    const mem = memory();
    const [a, b, c, d, e] = [0, 1, 2, 3, 4].map(() => mem.allocate(4)) as [
      MemoryRegion,
      MemoryRegion,
      MemoryRegion,
      MemoryRegion,
      MemoryRegion,
    ];
    for (const r of [b, c, d]) mem.view(r).fill(9);
    mem.release(b);
    mem.release(d);
    mem.release(c);
    const merged = mem.allocate(12);
    expect(merged.byteOffset).toBe(b.byteOffset);
    expect(mem.view(merged).every((x) => x === 0)).toBe(true);
    expect(mem.liveBytes).toBe(16 * 2 + 48);
    expect([a.byteOffset, e.byteOffset]).toEqual([0, 64]);
  });

  it("lowers its top when the highest region is released, so a larger one takes its place", () => {
    const mem = memory();
    mem.allocate(4);
    mem.release(mem.allocate(WASM_PAGE_BYTES / 4));
    const larger = mem.allocate(WASM_PAGE_BYTES / 2);
    expect(larger.byteOffset).toBe(16);
    expect(mem.reservedBytes).toBe(3 * WASM_PAGE_BYTES);
  });

  it("rejects a released region, a region of another memory and a bad length", () => {
    const mem = memory();
    const a = mem.allocate(4);
    mem.release(a);
    expect(() => mem.view(a)).toThrow("kernel memory region was released");
    expect(() => mem.release(a)).toThrow("kernel memory region was released");
    expect(() => memory().view(mem.allocate(1))).toThrow("belongs to another kernel memory");
    expect(() => mem.allocate(-1)).toThrow("kernel memory region length must be an integer >= 0, got -1");
  });
});
