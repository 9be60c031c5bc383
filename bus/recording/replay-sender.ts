import { randomUUID } from "node:crypto";
import { errors, type MsgHdrs, headers as natsHeaders } from "@nats-io/transport-node";
import type { BusConnection } from "../connection.ts";
import { jetStreamManagerOf, jetStreamOf } from "../jetstream/context.ts";
import type { RecordedFrame } from "./format.ts";
import { headersOf } from "./recorder.ts";

/** The header JetStream deduplicates on. */
export const MSG_ID_HEADER = "Nats-Msg-Id";

/** How many acknowledgements and replies a replay awaits at once before it waits for the oldest. */
const MAX_IN_FLIGHT = 1024;

/** Rejections kept in a summary (the count covers all of them). */
const MAX_REJECTIONS_KEPT = 20;

/** What became of a recorded request re-issued as a request. */
export type ReplayedReply =
  | {
      /** Index of the request frame in the file. */
      readonly frame: number;
      /** The subject the request was published on (after the remap). */
      readonly subject: string;
      readonly outcome: "reply";
      /** From publishing the request to receiving the reply. */
      readonly latencyMs: number;
      readonly headers: Readonly<Record<string, readonly string[]>>;
      readonly payload: Uint8Array;
    }
  | {
      readonly frame: number;
      readonly subject: string;
      readonly outcome: "no-responders" | "timeout" | "error";
      readonly latencyMs: number;
      /** What the client reported. */
      readonly error: string;
    };

/** A frame whose JetStream publish the server refused (or did not acknowledge). */
export interface ReplayRejection {
  readonly frame: number;
  readonly subject: string;
  readonly reason: string;
}

/** How recorded requests are re-issued. */
export interface RequestReplay {
  /** How long to wait for each reply. */
  readonly timeoutMs: number;
  /** Called once per re-issued request, with its reply or why there is none. */
  readonly onReply: (reply: ReplayedReply) => void;
}

/** What a {@link ReplaySender} did, once every acknowledgement and reply has settled. */
export interface SenderCounts {
  /** Frames carrying `Nats-Msg-Id` that a stream stored. */
  readonly stored: number;
  /** Frames carrying `Nats-Msg-Id` that a stream reported as duplicates (and so dropped). */
  readonly duplicates: number;
  /** Frames whose JetStream publish was refused or not acknowledged. */
  readonly rejected: number;
  /** The first rejections, with the server's reason. */
  readonly rejections: readonly ReplayRejection[];
  /** Recorded requests re-issued as requests. */
  readonly requests: number;
  /** Re-issued requests that got a reply. */
  readonly replies: number;
}

/**
 * Sends replayed frames, in order, one of three ways: a frame carrying `Nats-Msg-Id` on a subject a
 * stream captures is a JetStream publish whose acknowledgement says stored, duplicate or rejected;
 * with `requests`, a frame with a recorded reply subject is a request whose reply is reported; any
 * other frame is a plain publish with its recorded reply subject. With `freshIds` every
 * `Nats-Msg-Id` is replaced by a new unique id. Acknowledgements and replies are awaited in the
 * background (at most {@link MAX_IN_FLIGHT} at once), so pacing is not held up by round trips.
 */
export class ReplaySender {
  readonly #conn: BusConnection;
  readonly #freshIds: boolean;
  readonly #requests: RequestReplay | undefined;
  readonly #streamBySubject = new Map<string, string | null>();
  readonly #inFlight: Promise<void>[] = [];
  #stored = 0;
  #duplicates = 0;
  #rejected = 0;
  readonly #rejections: ReplayRejection[] = [];
  #requestCount = 0;
  #replies = 0;

  constructor(conn: BusConnection, freshIds: boolean, requests: RequestReplay | undefined) {
    this.#conn = conn;
    this.#freshIds = freshIds;
    this.#requests = requests;
  }

  /** Sends frame number `index` on `subject`; resolves once it is written to the connection. */
  async send(index: number, subject: string, frame: RecordedFrame): Promise<void> {
    const h = this.#headersOf(frame);
    const hasMsgId = frame.headers[MSG_ID_HEADER] !== undefined;
    if (hasMsgId && (await this.#streamFor(index, subject)) !== null) {
      const p = jetStreamOf(this.#conn).publish(
        subject,
        frame.payload,
        h === undefined ? {} : { headers: h },
      );
      await this.#track(
        p.then(
          (ack) => {
            if (ack.duplicate) this.#duplicates++;
            else this.#stored++;
          },
          (err: unknown) => this.#reject(index, subject, err),
        ),
      );
    } else if (frame.reply !== null && this.#requests !== undefined) {
      await this.#request(index, subject, frame, h, this.#requests);
    } else {
      this.#conn.nc.publish(subject, frame.payload, {
        ...(h === undefined ? {} : { headers: h }),
        ...(frame.reply === null ? {} : { reply: frame.reply }),
      });
    }
    this.#conn.metrics.published(subject);
  }

  /** Waits for every outstanding acknowledgement and reply; returns the counts. */
  async settle(): Promise<SenderCounts> {
    await Promise.all(this.#inFlight.splice(0));
    return {
      stored: this.#stored,
      duplicates: this.#duplicates,
      rejected: this.#rejected,
      rejections: [...this.#rejections],
      requests: this.#requestCount,
      replies: this.#replies,
    };
  }

  async #request(
    index: number,
    subject: string,
    frame: RecordedFrame,
    h: MsgHdrs | undefined,
    requests: RequestReplay,
  ): Promise<void> {
    this.#requestCount++;
    const sentAt = performance.now();
    const p = this.#conn.nc.request(subject, frame.payload, {
      timeout: requests.timeoutMs,
      ...(h === undefined ? {} : { headers: h }),
    });
    const latencyMs = (): number => Math.round((performance.now() - sentAt) * 1000) / 1000;
    await this.#track(
      p.then(
        (m) => {
          this.#replies++;
          requests.onReply({
            frame: index,
            subject,
            outcome: "reply",
            latencyMs: latencyMs(),
            headers: headersOf(m),
            payload: m.data,
          });
        },
        (err: unknown) => {
          requests.onReply({
            frame: index,
            subject,
            outcome: requestFailure(err),
            latencyMs: latencyMs(),
            error: err instanceof Error ? err.message : String(err),
          });
        },
      ),
    );
  }

  #headersOf(frame: RecordedFrame): MsgHdrs | undefined {
    const names = Object.keys(frame.headers);
    if (names.length === 0) return undefined;
    const h = natsHeaders();
    for (const name of names) {
      if (name === MSG_ID_HEADER && this.#freshIds) h.set(name, randomUUID());
      else for (const value of frame.headers[name] ?? []) h.append(name, value);
    }
    return h;
  }

  /** The stream capturing `subject`, or null; looked up once per subject. */
  async #streamFor(index: number, subject: string): Promise<string | null> {
    const known = this.#streamBySubject.get(subject);
    if (known !== undefined) return known;
    let found: string | null = null;
    try {
      const jsm = await jetStreamManagerOf(this.#conn);
      for await (const name of jsm.streams.names(subject)) found = name;
    } catch (err) {
      throw new Error(
        `frame #${index} carries ${MSG_ID_HEADER}; finding the JetStream stream for '${subject}' failed`,
        { cause: err },
      );
    }
    this.#streamBySubject.set(subject, found);
    return found;
  }

  async #track(p: Promise<void>): Promise<void> {
    this.#inFlight.push(p);
    if (this.#inFlight.length >= MAX_IN_FLIGHT) await this.#inFlight.shift();
  }

  #reject(frame: number, subject: string, err: unknown): void {
    this.#rejected++;
    if (this.#rejections.length < MAX_REJECTIONS_KEPT) {
      const reason =
        err instanceof errors.TimeoutError
          ? "no JetStream acknowledgement before the timeout"
          : err instanceof Error
            ? err.message
            : String(err);
      this.#rejections.push({ frame, subject, reason });
    }
  }
}

function requestFailure(err: unknown): "no-responders" | "timeout" | "error" {
  if (err instanceof errors.TimeoutError) return "timeout";
  if (err instanceof errors.NoRespondersError) return "no-responders";
  if (err instanceof errors.RequestError && err.isNoResponders()) return "no-responders";
  return "error";
}
