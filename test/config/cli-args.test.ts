import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCliArgs } from "../../src/config/cli-args.js";
import { PartyhouseError } from "../../src/core/errors.js";

function refuses(argv: string[], ...needles: string[]): void {
  assert.throws(
    () => parseCliArgs(argv),
    (e: unknown) => {
      assert.ok(e instanceof PartyhouseError);
      assert.equal(e.code, "PH_ERR_CONFIG");
      for (const n of needles)
        assert.ok(e.message.includes(n), `"${e.message}" should mention "${n}"`);
      return true;
    },
  );
}

describe("parseCliArgs", () => {
  it("parses a full dev command line", () => {
    const cli = parseCliArgs([
      "dev",
      "src/server.ts",
      "-p",
      "3000",
      "-c",
      "other.json",
      "--host",
      "0.0.0.0",
      "--var",
      "A=1",
      "--var=B=x=y",
      "-d",
      "DEBUG=true",
      "--define",
      'NAME="n"',
      "--serve",
      "public",
      "--verbose",
    ]);
    assert.equal(cli.command, "dev");
    assert.equal(cli.configPath, "other.json");
    assert.equal(cli.verbose, true);
    assert.deepEqual(cli.flags, {
      entry: "src/server.ts",
      port: 3000,
      host: "0.0.0.0",
      vars: { A: "1", B: "x=y" },
      define: { DEBUG: "true", NAME: '"n"' },
      serve: "public",
      mode: "dev",
    });
  });

  it("takes several k=v values after one --var, as PartyKit's variadic flag, but not the entry", () => {
    const cli = parseCliArgs(["dev", "--var", "A=1", "B=2", "server.ts", "-v", "C=3"]);
    assert.deepEqual(cli.flags.vars, { A: "1", B: "2", C: "3" });
    assert.equal(cli.flags.entry, "server.ts");
  });

  it("reads --persist with no value, a path, true/false and --no-persist", () => {
    assert.equal(parseCliArgs(["dev", "--persist"]).flags.persist, true);
    assert.equal(parseCliArgs(["dev", "--persist", "--verbose"]).flags.persist, true);
    assert.equal(parseCliArgs(["dev", "--persist", "false"]).flags.persist, false);
    assert.equal(parseCliArgs(["dev", "--persist=false"]).flags.persist, false);
    assert.equal(parseCliArgs(["dev", "--persist", "true"]).flags.persist, true);
    assert.equal(parseCliArgs(["dev", "--persist", "./data"]).flags.persist, "./data");
    assert.equal(parseCliArgs(["dev", "--no-persist"]).flags.persist, false);
    assert.equal(parseCliArgs(["dev"]).flags.persist, undefined);
  });

  it("reads --database <url>", () => {
    const url = "postgres://u:p@db:5432/app";
    assert.equal(parseCliArgs(["start", "--database", url]).flags.database, url);
    assert.equal(parseCliArgs(["dev", `--database=${url}`]).flags.database, url);
    assert.throws(() => parseCliArgs(["dev", "--database"]), /--database needs a value/);
  });

  it("sets the mode from the command", () => {
    assert.equal(parseCliArgs(["dev"]).flags.mode, "dev");
    assert.equal(parseCliArgs(["start"]).flags.mode, "start");
    assert.equal(parseCliArgs(["build"]).flags.mode, "start");
  });

  it("parses init with a name and its flags", () => {
    const cli = parseCliArgs(["init", "my-app", "-y", "--dry-run"]);
    assert.equal(cli.command, "init");
    assert.equal(cli.name, "my-app");
    assert.equal(cli.yes, true);
    assert.equal(cli.dryRun, true);
  });

  it("recognizes help and version", () => {
    assert.equal(parseCliArgs([]).command, "help");
    assert.equal(parseCliArgs(["--help"]).help, true);
    assert.equal(parseCliArgs(["dev", "-h"]).help, true);
    assert.equal(parseCliArgs(["--version"]).command, "version");
    assert.equal(parseCliArgs(["-V"]).command, "version");
  });

  it("accepts PartyKit's dev flags that do nothing here and lists them", () => {
    const cli = parseCliArgs([
      "dev",
      "--live",
      "--compatibility-date",
      "2024-01-01",
      "--no-hotkeys",
      "s.ts",
    ]);
    assert.deepEqual(cli.ignored, ["--live", "--compatibility-date", "--no-hotkeys"]);
    assert.equal(cli.flags.entry, "s.ts");
  });

  it("sets withEnv for --with-env", () => {
    assert.equal(parseCliArgs(["dev", "--with-env"]).flags.withEnv, true);
  });

  it("treats everything after -- as positional", () => {
    assert.equal(parseCliArgs(["dev", "--", "-weird.ts"]).flags.entry, "-weird.ts");
  });

  it("refuses unknown commands and flags, naming them", () => {
    refuses(["serve"], `Unknown command "serve"`, "dev, start, build, init");
    refuses(["dev", "--prot", "1"], `Unknown option "--prot"`, "--port");
    refuses(["init", "--port", "1"], `Unknown option "--port"`);
    refuses(["dev", "--htps"], `Unknown option "--htps"`);
  });

  it("parses the production flags and -v as the version", () => {
    const cli = parseCliArgs([
      "start",
      "--https",
      "--https-key-path",
      "k.pem",
      "--https-cert-path",
      "c.pem",
      "--trust-proxy",
      "--public-host",
      "chat.example.com",
      "--shutdown-grace",
      "15000",
      "--minify",
      "--from",
      "out",
    ]);
    assert.deepEqual(cli.server, {
      https: true,
      httpsKeyPath: "k.pem",
      httpsCertPath: "c.pem",
      trustProxy: true,
      publicHost: "chat.example.com",
      shutdownGraceMs: 15000,
      minify: true,
      artifactDir: "out",
    });
    assert.equal(parseCliArgs(["build", "--out", "x"]).server.artifactDir, "x");
    assert.equal(parseCliArgs(["-v"]).command, "version");
    assert.deepEqual(parseCliArgs(["dev", "-v", "A=1"]).flags.vars, { A: "1" });
    assert.equal(parseCliArgs(["init", "--no-install"]).install, false);
    refuses(["start", "--shutdown-grace", "soon"], "--shutdown-grace must be milliseconds");
  });

  it("parses the cluster node flags of start", () => {
    const cli = parseCliArgs([
      "start",
      "--node-url",
      "http://10.0.0.5:1999",
      "--cluster-secret=s3cret",
      "--lease-ms",
      "4000",
    ]);
    assert.equal(cli.server.nodeUrl, "http://10.0.0.5:1999");
    assert.equal(cli.server.clusterSecret, "s3cret");
    assert.equal(cli.server.leaseMs, 4000);
    refuses(["start", "--lease-ms", "4s"], "--lease-ms must be milliseconds");
    refuses(["start", "--node-url"], "--node-url needs a value");
  });

  it("refuses missing and malformed values", () => {
    refuses(["dev", "--port"], "--port needs a value");
    refuses(["dev", "-p", "abc"], "--port must be an integer", "abc");
    refuses(["dev", "-p", "70000"], "--port must be an integer");
    refuses(["dev", "--var"], "--var needs a value");
    refuses(["dev", "--var", "novalue"], "--var needs a value");
    refuses(["dev", "--var=novalue"], "--var expects key=value", "novalue");
    refuses(["dev", "--define", "=1"], "--define expects key=value");
    refuses(["dev", "--verbose=1"], "--verbose takes no value");
    refuses(["dev", "-c"], "-c needs a value");
  });

  it("refuses a second entry", () => {
    refuses(["dev", "a.ts", "b.ts"], "one entry file", "a.ts", "b.ts");
  });
});
