import type { Init } from "../params/init.ts";

/** Element-wise activation functions of the model layer. */
export type Activation = "relu" | "gelu" | "tanh" | "sigmoid";

/**
 * One layer of a host model. Parameters are named `<name>/weight` ([out, in], used as Gemm transB)
 * and `<name>/bias` ([out]), `<name>/scale` and `<name>/shift` for LayerNorm.
 */
export type LayerSpec =
  | {
      readonly kind: "linear";
      readonly name: string;
      readonly out: number;
      readonly bias?: boolean;
      readonly init?: Init;
    }
  | { readonly kind: "activation"; readonly fn: Activation }
  | { readonly kind: "layerNorm"; readonly name: string; readonly epsilon?: number }
  /** Multiplies by a mask fed per step (graph input `dropout/<name>`) in training; identity in evaluation. */
  | { readonly kind: "dropout"; readonly name: string; readonly p: number }
  /** `h + body(h)`; the body must keep the width. */
  | { readonly kind: "residual"; readonly body: readonly LayerSpec[] }
  /** A seed slot: where a seed kernel may be wired in (see `slots.ts`). */
  | { readonly kind: "slot"; readonly slotId: string };

/** Training objective: integer class labels, or float targets of the output's shape. */
export type LossKind = "softmaxCrossEntropy" | "binaryCrossEntropy" | "meanSquaredError";

/** A host model: input width, layers in order, and the loss on the last layer's output (the logits). */
export interface ModelSpec {
  readonly inputWidth: number;
  readonly layers: readonly LayerSpec[];
  readonly loss: LossKind;
}

/** A declared parameter of a host model. */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: Init;
}

/** A seed slot of a host model and the width of the activation at it. */
export interface SlotSpec {
  readonly slotId: string;
  readonly width: number;
}

/** What a walk over the layers found: parameters, slots, dropouts and the output width. */
export interface ModelLayout {
  readonly params: readonly ParamSpec[];
  readonly slots: readonly SlotSpec[];
  readonly dropouts: readonly { readonly name: string; readonly width: number; readonly p: number }[];
  readonly outputWidth: number;
}

const defaultWeightInit: Init = { kind: "kaimingUniform", a: Math.sqrt(5) };

/** Walks a model spec, checking names and widths, and lists its parameters, slots and dropouts. */
export function layoutOf(spec: ModelSpec): ModelLayout {
  const params: ParamSpec[] = [];
  const slots: SlotSpec[] = [];
  const dropouts: { name: string; width: number; p: number }[] = [];
  const names = new Set<string>();
  const claim = (name: string, what: string): void => {
    if (name.length === 0 || name.startsWith("seed/"))
      throw new Error(`${what} name '${name}' is empty or reserved`);
    if (names.has(name)) throw new Error(`${what} name '${name}' is used twice`);
    names.add(name);
  };
  const walk = (layers: readonly LayerSpec[], width: number): number => {
    let w = width;
    for (const l of layers) {
      switch (l.kind) {
        case "linear": {
          claim(l.name, "layer");
          if (!Number.isInteger(l.out) || l.out < 1)
            throw new Error(`layer '${l.name}': out must be a positive integer`);
          params.push({ name: `${l.name}/weight`, shape: [l.out, w], init: l.init ?? defaultWeightInit });
          if (l.bias !== false) {
            const bound = 1 / Math.sqrt(w);
            params.push({
              name: `${l.name}/bias`,
              shape: [l.out],
              init: { kind: "uniform", low: -bound, high: bound },
            });
          }
          w = l.out;
          break;
        }
        case "layerNorm":
          claim(l.name, "layer");
          params.push({ name: `${l.name}/scale`, shape: [w], init: { kind: "ones" } });
          params.push({ name: `${l.name}/shift`, shape: [w], init: { kind: "zeros" } });
          break;
        case "dropout":
          claim(l.name, "dropout");
          if (!(l.p >= 0 && l.p < 1)) throw new Error(`dropout '${l.name}': p must be in [0, 1)`);
          dropouts.push({ name: l.name, width: w, p: l.p });
          break;
        case "residual": {
          const out = walk(l.body, w);
          if (out !== w) throw new Error(`residual body changes width ${w} → ${out}`);
          break;
        }
        case "slot":
          claim(l.slotId, "slot");
          slots.push({ slotId: l.slotId, width: w });
          break;
        case "activation":
          break;
      }
    }
    return w;
  };
  if (!Number.isInteger(spec.inputWidth) || spec.inputWidth < 1)
    throw new Error("model inputWidth must be a positive integer");
  const outputWidth = walk(spec.layers, spec.inputWidth);
  return { params, slots, dropouts, outputWidth };
}
