// Independent reference implementation of protocolgen-allocation-1, written from
// docs/randomization.md alone (no code shared with the Python package). It prints the test
// vectors of section 11 in the same "key = value" form; tests/test_allocation_vectors.py
// compares its output with the document when Node.js is installed.
//
//   node tools/randomization_reference.mjs
import { createHash } from "node:crypto";

const ALGORITHM = "protocolgen-allocation-1";

function keyOf(seedText) {
  const text = seedText.trim().replaceAll("_", "");
  const value = /^[0-9]+$/.test(text) ? BigInt(text) : BigInt("0x" + text.replace(/^0[xX]/, ""));
  return Buffer.from(value.toString(16).padStart(64, "0"), "hex");
}

function frame(...parts) {
  return Buffer.concat(parts.flatMap((p) => {
    const bytes = typeof p === "string" ? Buffer.from(p, "utf8") : p;
    const len = Buffer.alloc(4);
    len.writeUInt32BE(bytes.length);
    return [len, bytes];
  }));
}

class Stream {
  constructor(key, purpose, label) {
    this.message = frame(ALGORITHM, key, purpose, label);
    this.buf = Buffer.alloc(0);
    this.pos = 0;
  }
  read(n) {
    if (this.pos + n > this.buf.length) {  // SHAKE output of any length extends a shorter one
      const length = Math.max(2 * this.buf.length, this.pos + n, 64);
      this.buf = createHash("shake256", { outputLength: length }).update(this.message).digest();
    }
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }
  below(n) {
    if (n === 1) return 0;
    let w = 1;
    while (256 ** w < n) w += 1;  // bytes needed to hold n - 1
    const span = 256 ** w;
    const limit = span - (span % n);
    for (;;) {
      const x = this.read(w).reduce((acc, byte) => acc * 256 + byte, 0);
      if (x < limit) return x % n;
    }
  }
}

function shuffle(stream, items) {
  for (let i = items.length - 1; i >= 1; i -= 1) {
    const j = stream.below(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

function stratumLength(size, surplus) {  // ceil(size * (1 + surplus)), surplus as decimal text
  const [whole, frac = ""] = surplus.split(".");
  const scale = 10n ** BigInt(frac.length);
  const numerator = BigInt(size) * (scale + BigInt(whole + frac));
  return Number((numerator + scale - 1n) / scale);
}

function list(key, method, ratios, blockSizes, size, surplus) {
  const arms = ["A", "B", "C"];
  const stream = new Stream(key, "production", "");
  const total = ratios.reduce((a, b) => a + b, 0);
  const length = stratumLength(size, surplus);
  const out = [];
  const blocks = [];
  if (method === "simple") {
    while (out.length < length) {
      const x = stream.below(total);
      let cumulative = 0;
      out.push(arms[ratios.findIndex((r) => x < (cumulative += r))]);
    }
    return out.join("");
  }
  const sizes = [...new Set(blockSizes)].sort((a, b) => a - b);
  while (out.length < length) {
    const b = sizes[stream.below(sizes.length)];
    const template = ratios.flatMap((r, a) => Array((b / total) * r).fill(arms[a]));
    out.push(...shuffle(stream, template));
    blocks.push(b);
  }
  return `${out.join("")} blocks ${blocks.join(" ")}`;
}

const seedText = "0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const key = keyOf(seedText);
const lines = [];
const put = (name, value) => lines.push(`${name} = ${value}`);
put("seed", seedText);
put("seed.decimal", BigInt("0x" + key.toString("hex")).toString());
put("message(production, '')", frame(ALGORITHM, key, "production", "").toString("hex"));
for (const [purpose, label] of [["production", ""], ["development", ""],
  ["production", "REGION=NAM/PLATSENS=SENSITIVE"], ["production", "site=S01"]]) {
  put(`stream(${purpose}, '${label}')[0:32]`,
    new Stream(key, purpose, label).read(32).toString("hex"));
}
const draws = new Stream(key, "production", "test-vector");
put("below6", Array.from({ length: 16 }, () => draws.below(6)).join(" "));
put("below1000", Array.from({ length: 8 }, () => draws.below(1000)).join(" "));
put("shuffle10", shuffle(new Stream(key, "production", "test-vector-shuffle"),
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).join(" "));
put("list permuted-block 1:1 blocks 2,4 size 10 surplus 0.2",
  list(key, "permuted-block", [1, 1], [2, 4], 10, "0.2"));
put("list permuted-block 2:1:1 blocks 4,8 size 10 surplus 0.2",
  list(key, "permuted-block", [2, 1, 1], [4, 8], 10, "0.2"));
put("list simple 3:2 size 10 surplus 0", list(key, "simple", [3, 2], [], 10, "0"));
put("seed_check", new Stream(key, "seed-check", "").read(16).toString("hex"));
const salt = new Stream(key, "commitment-salt", "list").read(32);
put("salt(list)", salt.toString("hex"));
put('commitment(list, "hello\\n")',
  createHash("sha256").update(Buffer.concat([salt, Buffer.from("hello\n")])).digest("hex"));
console.log(lines.join("\n"));
