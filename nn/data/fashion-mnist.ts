/**
 * Fashion-MNIST from its IDX files (Debian package dataset-fashion-mnist: gzipped files in
 * /usr/share/datasets/fashion-mnist). Pixels are scaled to [0, 1], optionally standardised.
 */
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import type { Dataset } from "./dataset.ts";
import { parseIdxUbyte } from "./idx.ts";

const gunzipAsync = promisify(gunzip);

/** Where the Debian package installs the files. */
export const FASHION_MNIST_PACKAGE_DIR = "/usr/share/datasets/fashion-mnist";
/** Environment variable that overrides the directory. */
export const FASHION_MNIST_DIR_ENV = "ESPER_FASHION_MNIST_DIR";

const FILES = {
  train: { images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte" },
  test: { images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte" },
} as const;

/** Options of `loadFashionMnist`. */
export interface FashionMnistOptions {
  readonly split: "train" | "test";
  /** Directory of the IDX files; else $ESPER_FASHION_MNIST_DIR; else the Debian package's. */
  readonly dir?: string;
  /** Standardise pixels after scaling to [0, 1]: (x − mean) / std. */
  readonly normalize?: { readonly mean: number; readonly std: number };
}

/** The directory `loadFashionMnist` reads: the option, else the environment variable, else the package's. */
export function fashionMnistDir(dir?: string): string {
  return dir ?? process.env[FASHION_MNIST_DIR_ENV] ?? FASHION_MNIST_PACKAGE_DIR;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** `<dir>/<name>.gz` if it exists, else `<dir>/<name>`; neither is an error naming both. */
async function locate(dir: string, name: string): Promise<string> {
  const gz = join(dir, `${name}.gz`);
  if (await exists(gz)) return gz;
  const plain = join(dir, name);
  if (await exists(plain)) return plain;
  throw new Error(
    `Fashion-MNIST file not found: ${gz} (nor ${plain}); install the Debian package dataset-fashion-mnist ` +
      `or set ${FASHION_MNIST_DIR_ENV} to a directory holding the IDX files`,
  );
}

/**
 * The paths of the four IDX files in `dir` (default as {@link fashionMnistDir}); a missing file is an
 * error naming it and how to install the data set. Reads nothing: a preflight check.
 */
export async function locateFashionMnist(dir?: string): Promise<string[]> {
  const from = fashionMnistDir(dir);
  const names = [FILES.train.images, FILES.train.labels, FILES.test.images, FILES.test.labels];
  return Promise.all(names.map((name) => locate(from, name)));
}

/** The bytes of an IDX file, gunzipped when its name ends in .gz. */
async function readIdxBytes(file: string): Promise<{ bytes: Uint8Array; file: string }> {
  const raw = await readFile(file);
  if (!file.endsWith(".gz")) return { bytes: raw, file };
  try {
    return { bytes: await gunzipAsync(raw), file };
  } catch (err) {
    throw new Error(`corrupt IDX file ${file}: gunzip failed (${(err as Error).message})`);
  }
}

/** Loads one split: x [n, 784] in [0, 1] (or standardised), y class indices 0..9. */
export async function loadFashionMnist(options: FashionMnistOptions): Promise<Dataset> {
  const dir = fashionMnistDir(options.dir);
  const names = FILES[options.split];
  if (names === undefined) throw new Error(`loadFashionMnist: split must be "train" or "test"`);
  const imagesPath = await locate(dir, names.images);
  const labelsPath = await locate(dir, names.labels);
  const [imgFile, lblFile] = await Promise.all([readIdxBytes(imagesPath), readIdxBytes(labelsPath)]);
  const images = parseIdxUbyte(imgFile.bytes, 3, imgFile.file);
  const labels = parseIdxUbyte(lblFile.bytes, 1, lblFile.file);
  const [n = 0, rows = 0, cols = 0] = images.dims;
  if (rows !== 28 || cols !== 28) {
    throw new Error(`corrupt IDX file ${imgFile.file}: images are ${rows}x${cols}, expected 28x28`);
  }
  if (labels.dims[0] !== n) {
    throw new Error(
      `IDX files disagree: ${imgFile.file} has ${n} images, ${lblFile.file} has ${labels.dims[0]} labels`,
    );
  }
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = labels.data[i] as number;
    if (c > 9) throw new Error(`corrupt IDX file ${lblFile.file}: label ${c} at row ${i} is outside 0..9`);
    y[i] = c;
  }
  const features = rows * cols;
  const x = new Float32Array(n * features);
  const px = images.data;
  let scale = 1 / 255;
  let shift = 0;
  if (options.normalize !== undefined) {
    const { mean, std } = options.normalize;
    if (!Number.isFinite(mean))
      throw new Error(`loadFashionMnist: normalize.mean must be finite, got ${mean}`);
    if (!(std > 0 && Number.isFinite(std)))
      throw new Error(`loadFashionMnist: normalize.std must be > 0, got ${std}`);
    scale /= std;
    shift = -mean / std;
  }
  for (let i = 0; i < px.length; i++) x[i] = (px[i] as number) * scale + shift;
  return { name: `fashion-mnist/${options.split}`, x, y, n, features, classes: 10 };
}
