/**
 * The ownership tables `partyhouse start --workers N` keeps in the shared SQLite storage file
 * (see cluster/sqlite-placement.ts): one row per worker node with its lease, one row per room
 * with its owner and fencing epoch. They live here, beside the driver, because every fenced
 * commit of the driver reads `cluster_rooms` inside its own transaction.
 */
export const CLUSTER_SCHEMA = `
  CREATE TABLE IF NOT EXISTS cluster_nodes (
    id TEXT PRIMARY KEY,
    incarnation INTEGER NOT NULL,
    url TEXT NOT NULL,
    status TEXT NOT NULL,
    lease_expires INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS cluster_rooms (
    party TEXT NOT NULL,
    room TEXT NOT NULL,
    owner TEXT,
    owner_incarnation INTEGER,
    epoch INTEGER NOT NULL,
    PRIMARY KEY (party, room)
  ) WITHOUT ROWID;
`;

/** The epoch a fenced commit must find (no row: the room was never claimed, so it fails). */
export const FENCE_EPOCH_SQL = "SELECT epoch FROM cluster_rooms WHERE party = ? AND room = ?";
