/** The messages between the SQLite driver and its writer thread (sqlite-writer-thread.ts). */

export interface ThreadSetup {
  /** "write" applies commits; "checkpoint" only copies the WAL back into the file. */
  readonly role: "write" | "checkpoint";
  readonly path: string;
  readonly synchronous: "NORMAL" | "FULL";
  /** busy_timeout in ms: --workers processes share the file. */
  readonly timeout: number;
}

export interface ThreadCommit {
  readonly id: number;
  readonly party: string;
  readonly room: string;
  /** encodeChanges() of the batch (batch-codec.ts), transferred. */
  readonly changes: Uint8Array;
  readonly alarm: number | null | undefined;
  readonly fence: number | undefined;
  readonly chain: number;
}

export interface ThreadError {
  readonly code: string | undefined;
  readonly message: string;
}

export type ThreadReply =
  | { readonly ready: true }
  | { readonly ready: false; readonly error: ThreadError }
  | { readonly id: number; readonly error?: ThreadError };
