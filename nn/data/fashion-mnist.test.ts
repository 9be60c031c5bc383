import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { checkDataset } from "./dataset.ts";
import { FASHION_MNIST_PACKAGE_DIR, fashionMnistDir, loadFashionMnist } from "./fashion-mnist.ts";

function idx(dims: number[], data: Uint8Array): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  for (const [i, d] of dims.entries()) head.writeUInt32BE(d, 4 + 4 * i);
  return Buffer.concat([head, data]);
}

describe("Fashion-MNIST from the Debian package", () => {
  it("loads the test split scaled to [0, 1] with 1000 images per class", async () => {
    const d = await loadFashionMnist({ split: "test", dir: FASHION_MNIST_PACKAGE_DIR });
    checkDataset(d);
    expect([d.n, d.features, d.classes]).toEqual([10000, 784, 10]);
    let min = 1;
    let max = 0;
    for (const v of d.x) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    expect([min, max]).toEqual([0, 1]);
    const counts = new Array<number>(10).fill(0);
    for (const c of d.y) counts[c] = (counts[c] ?? 0) + 1;
    expect(counts).toEqual(new Array(10).fill(1000));
    expect([...d.y.subarray(0, 5)]).toEqual([9, 2, 1, 1, 6]);
  });

  it("loads the train split and standardises when asked", async () => {
    const d = await loadFashionMnist({
      split: "train",
      dir: FASHION_MNIST_PACKAGE_DIR,
      normalize: { mean: 0.5, std: 0.25 },
    });
    expect(d.n).toBe(60000);
    expect(d.x.length).toBe(60000 * 784);
    let min = 0;
    for (let i = 0; i < 784 * 100; i++) min = Math.min(min, d.x[i] as number);
    expect(min).toBe(-2);
  });
});

describe("Fashion-MNIST errors", () => {
  let dir = "";
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "esper-fmnist-"));
  });
  afterEach(async () => {
    vi.unstubAllEnvs();
    await rm(dir, { recursive: true, force: true });
  });

  it("names the missing file and the Debian package", async () => {
    const err = loadFashionMnist({ split: "train", dir });
    await expect(err).rejects.toThrow(join(dir, "train-images-idx3-ubyte.gz"));
    await expect(loadFashionMnist({ split: "train", dir })).rejects.toThrow(
      "install the Debian package dataset-fashion-mnist",
    );
  });

  it("takes the directory from ESPER_FASHION_MNIST_DIR when no option is given", async () => {
    vi.stubEnv("ESPER_FASHION_MNIST_DIR", dir);
    expect(fashionMnistDir()).toBe(dir);
    expect(fashionMnistDir("/elsewhere")).toBe("/elsewhere");
    await expect(loadFashionMnist({ split: "test" })).rejects.toThrow(join(dir, "t10k-images-idx3-ubyte.gz"));
  });

  it("reads uncompressed IDX files and rejects corrupt ones, naming the file", async () => {
    const images = join(dir, "t10k-images-idx3-ubyte");
    const labels = join(dir, "t10k-labels-idx1-ubyte");
    await writeFile(images, idx([2, 28, 28], new Uint8Array(2 * 784).fill(255)));
    await writeFile(labels, idx([2], Uint8Array.from([3, 7])));
    const d = await loadFashionMnist({ split: "test", dir });
    expect([d.n, d.x[0], [...d.y]]).toEqual([2, 1, [3, 7]]);

    await writeFile(images, idx([2, 28, 28], new Uint8Array(2 * 784 - 1)));
    await expect(loadFashionMnist({ split: "test", dir })).rejects.toThrow(`corrupt IDX file ${images}`);

    const wrongMagic = idx([2, 28, 28], new Uint8Array(2 * 784));
    wrongMagic[2] = 0x0d;
    await writeFile(images, wrongMagic);
    await expect(loadFashionMnist({ split: "test", dir })).rejects.toThrow(
      `corrupt IDX file ${images}: wrong magic`,
    );

    await writeFile(images, idx([2, 28, 28], new Uint8Array(2 * 784)));
    await writeFile(labels, idx([2], Uint8Array.from([3, 12])));
    await expect(loadFashionMnist({ split: "test", dir })).rejects.toThrow(
      `corrupt IDX file ${labels}: label 12`,
    );

    await writeFile(labels, idx([3], Uint8Array.from([1, 2, 3])));
    await expect(loadFashionMnist({ split: "test", dir })).rejects.toThrow("IDX files disagree");

    await writeFile(`${images}.gz`, Buffer.from("not gzip"));
    await expect(loadFashionMnist({ split: "test", dir })).rejects.toThrow(
      `corrupt IDX file ${images}.gz: gunzip failed`,
    );
    await writeFile(`${images}.gz`, gzipSync(idx([2, 28, 28], new Uint8Array(2 * 784))));
    await writeFile(labels, idx([2], Uint8Array.from([0, 1])));
    expect((await loadFashionMnist({ split: "test", dir })).n).toBe(2);
  });
});
