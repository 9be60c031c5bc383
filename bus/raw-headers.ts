import { type Msg, MsgImpl, TD } from "@nats-io/transport-node";
import { headerOf } from "./headers.ts";

/**
 * A header block nats.js parses without error and whose text equals its bytes: a status line, then
 * CRLF-separated lines that are either `key:value` with a key of printable ASCII, or have no colon
 * (nats.js skips those). No bare CR/LF and nothing outside ASCII.
 */
const PLAIN_BLOCK =
  /^[^\r\n\u0080-\uffff]*(?:\r\n(?:[\x21-\x39\x3b-\x7e]*:[^\r\n\u0080-\uffff]*|[^:\r\n\u0080-\uffff]*))*$/;

/**
 * The header block of `m` as text: "" when `m` has no headers, undefined when it must be read through
 * `m.headers` instead (`m` is not a nats.js MsgImpl, or its block is not {@link PLAIN_BLOCK}).
 *
 * This is the one place that reads nats.js internals (`_msg.hdr` and `_rdata`, public in MsgImpl's
 * typings): reading `m.headers` makes nats.js parse every header into a MsgHdrsImpl (a map, arrays and
 * key canonicalisation per header), which cost more than the rest of a small message's receive path,
 * while the bus checks two headers per message.
 */
export function headerTextOf(m: Msg): string | undefined {
  if (!(m instanceof MsgImpl)) return undefined;
  const length = m._msg.hdr;
  if (length < 0) return "";
  const text = TD.decode(m._rdata.subarray(0, length));
  return PLAIN_BLOCK.test(text) ? text : undefined;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12;
}

let valueEnd = 0;
const needles = new Map<string, string>();

/** Start of the trimmed first value of `name` in `text` (its end in `valueEnd`), or -1. */
function valueStart(text: string, name: string): number {
  let needle = needles.get(name);
  if (needle === undefined) {
    needle = `\r\n${name}:`;
    needles.set(name, needle);
  }
  const at = text.indexOf(needle);
  if (at < 0) return -1;
  let start = at + name.length + 3;
  let end = text.indexOf("\r\n", start);
  if (end < 0) end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  valueEnd = end;
  return start;
}

/** The first value of header `name` in a {@link headerTextOf} block, or "" (what nats.js's `get` returns). */
export function textHeader(text: string, name: string): string {
  const start = valueStart(text, name);
  return start < 0 ? "" : text.slice(start, valueEnd);
}

/** "" when header `name` in a {@link headerTextOf} block is absent or exactly `expected`, else its value. */
export function textHeaderUnless(text: string, name: string, expected: string): string {
  const start = valueStart(text, name);
  if (start < 0) return "";
  if (valueEnd - start === expected.length && text.startsWith(expected, start)) return "";
  return text.slice(start, valueEnd);
}

/** The first value of header `name` of `m`, or "": `headerOf(m.headers, name)` without parsing every header. */
export function messageHeader(m: Msg, name: string): string {
  const text = headerTextOf(m);
  if (text !== undefined) return textHeader(text, name);
  const h = m.headers;
  return h === undefined ? "" : headerOf(h, name);
}
