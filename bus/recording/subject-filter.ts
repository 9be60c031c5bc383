/** NATS subject-filter helpers used by recording and replay (no I/O). */

/** Thrown for a subject filter or namespace remap that is not well formed; names the option. */
export class SubjectFilterError extends Error {
  override readonly name = "SubjectFilterError";
}

const TOKEN_FORBIDDEN = /[\s.*>]/;

/** Checks a NATS subject filter (`*` matches one token, a final `>` one or more); `what` names the option. */
export function checkSubjectFilter(filter: string, what: string): string {
  const tokens = filter.split(".");
  tokens.forEach((t, i) => {
    const ok = t !== "" && (t === "*" || (t === ">" && i === tokens.length - 1) || !/[\s*>]/.test(t));
    if (!ok) throw new SubjectFilterError(`${what} '${filter}' is not a valid NATS subject filter`);
  });
  return filter;
}

/** True when `subject` matches the NATS subject `filter`. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    const ft = f[i];
    if (ft === ">") return s.length > i;
    const st = s[i];
    if (st === undefined) return false;
    if (ft !== "*" && ft !== st) return false;
  }
  return f.length === s.length;
}

/** The literal first token every filter shares (the namespace), or null when there is none. */
export function namespaceOfFilters(filters: readonly string[]): string | null {
  const first = new Set(filters.map((f) => f.split(".")[0]));
  const [only] = first;
  return first.size === 1 && only !== undefined && only !== "*" && only !== ">" ? only : null;
}

/** A namespace remap: subjects whose first token is `from` get `to` instead. */
export interface NamespaceRemap {
  readonly from: string;
  readonly to: string;
}

/** Parses `old=new` (two single subject tokens); errors name the `--remap` option. */
export function parseRemap(text: string): NamespaceRemap {
  const parts = text.split("=");
  const [from, to] = parts;
  const bad = (t: string | undefined): boolean => t === undefined || t === "" || TOKEN_FORBIDDEN.test(t);
  if (parts.length !== 2 || bad(from) || bad(to) || from === undefined || to === undefined) {
    throw new SubjectFilterError(
      `--remap '${text}' must be old=new, two namespace tokens without '.', '*', '>' or spaces`,
    );
  }
  return { from, to };
}

/** The subject with its leading namespace token remapped, or null when it is not in `remap.from`. */
export function remapSubject(remap: NamespaceRemap, subject: string): string | null {
  const prefix = `${remap.from}.`;
  return subject.startsWith(prefix) ? `${remap.to}.${subject.slice(prefix.length)}` : null;
}
