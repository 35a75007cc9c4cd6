/**
 * The environment of a `partyhouse start` cluster node in the CLI tests: exactly the variables an
 * operator sets (issue 9's interface), on port 0, one secret shared by every node of a test.
 */
export const CLUSTER_SECRET = "test-cluster-secret-0123456789";

export function nodeEnv(databaseUrl: string, leaseMs: number): Record<string, string> {
  return {
    PORT: "0",
    PARTYHOUSE_DATABASE_URL: databaseUrl,
    PARTYHOUSE_CLUSTER_SECRET: CLUSTER_SECRET,
    PARTYHOUSE_LEASE_MS: String(leaseMs),
  };
}
