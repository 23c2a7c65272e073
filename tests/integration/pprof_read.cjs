// SPDX-License-Identifier: MIT
// Reads a pprof file with the npm `pprof-format` decoder (a reader that is
// not ftprof's) and prints, as JSON, what check_pprof.py compares with
// `go tool pprof`: the sample types, the default one, its total, each
// function's flat share of it with the frames named by HIDE left out (as
// pprof's -hide does), and the label keys with their values.
//   node pprof_read.cjs PPROF_FORMAT_DIR FILE [HIDE]
const fs = require("fs");
const zlib = require("zlib");
const { Profile } = require(process.argv[2]);
const raw = fs.readFileSync(process.argv[3]);
const data = raw[0] === 0x1f && raw[1] === 0x8b ? zlib.gunzipSync(raw) : raw;
const p = Profile.decode(data);
const str = (i) => p.stringTable.strings[Number(i)];
const hide = process.argv[4] ? new RegExp(process.argv[4]) : null;
const types = p.sampleType.map((t) => str(t.type) + "/" + str(t.unit));
const def = p.defaultSampleType ? types.findIndex((t) => t.startsWith(str(p.defaultSampleType) + "/")) : types.length - 1;
const funcs = new Map(p.function.map((f) => [Number(f.id), { name: str(f.name), file: str(f.filename) }]));
const locs = new Map(p.location.map((l) => [Number(l.id), l]));
const flat = {};
const labels = {};
let total = 0;
for (const s of p.sample) {
  const v = Number(s.value[def]);
  total += v;
  let leaf = null;
  for (const id of s.locationId) {
    const l = locs.get(Number(id));
    const name = funcs.get(Number(l.line[0].functionId)).name;
    if (!hide || !hide.test(name)) {
      leaf = name;
      break;
    }
  }
  if (leaf !== null) flat[leaf] = (flat[leaf] || 0) + v;
  for (const lab of s.label) {
    const key = str(lab.key);
    labels[key] = labels[key] || {};
    const val = Number(lab.str) ? str(lab.str) : String(lab.num);
    labels[key][val] = (labels[key][val] || 0) + v;
  }
}
const share = {};
for (const [k, v] of Object.entries(flat)) share[k] = total ? v / total : 0;
console.log(JSON.stringify({ types, default: types[def], total, share, labels,
  files: [...new Set([...funcs.values()].map((f) => f.file))] }));
