// hyparquet as the second Parquet oracle (tests/e2e/test_parquet_oracles.py):
//   node hyparquet.mjs read FILE     prints {"columns":[...],"rows":[...]} with values as JSON
//       (BigInt as decimal strings, Dates as epoch ms, bytes as base64)
//   node hyparquet.mjs write FILE    reads {"columns":[{name,type,data}]} on stdin and writes it
//       with hyparquet-writer (snappy, its default encodings).
// The oracles live in tools/node_modules; SALESPIPE_ORACLES_DIR points elsewhere (a scratch
// install) when needed. gzip comes from node:zlib, zstd from the zstd command.
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { pathToFileURL } from 'node:url';

const base = process.env.SALESPIPE_ORACLES_DIR
  ? pathToFileURL(process.env.SALESPIPE_ORACLES_DIR + '/package.json')
  : new URL('../../../tools/package.json', import.meta.url);
const require = createRequire(base);
const load = async (name) => import(pathToFileURL(require.resolve(name)).href);

const [cmd, file] = process.argv.slice(2);
const norm = (v) => {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.getTime();
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  }
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  return v;
};
if (cmd === 'read') {
  const { parquetReadObjects, parquetMetadata, parquetSchema } = await load('hyparquet');
  const buf = readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const compressors = {
    GZIP: (input, n) => new Uint8Array(gunzipSync(input)).subarray(0, n),
    ZSTD: (input, n) => new Uint8Array(execFileSync('zstd', ['-d', '-c', '-q'], { input })),
  };
  const rows = await parquetReadObjects({ file: ab, compressors, utf8: true });
  const meta = parquetMetadata(ab);
  const columns = parquetSchema(meta).children.map((c) => c.element.name);
  console.log(JSON.stringify({ columns, rows: rows.map(norm) }));
} else if (cmd === 'write') {
  const { parquetWriteBuffer } = await load('hyparquet-writer');
  const spec = JSON.parse(readFileSync(0, 'utf8'));
  const columnData = spec.columns.map((c) => ({
    ...c,
    data: c.type === 'INT64' ? c.data.map((x) => (x === null ? null : BigInt(x))) :
      c.type === 'TIMESTAMP' ? c.data.map((x) => (x === null ? null : new Date(x))) : c.data,
  }));
  writeFileSync(file, Buffer.from(parquetWriteBuffer({ columnData })));
} else {
  console.error('usage: hyparquet.mjs read FILE | write FILE < spec.json');
  process.exit(2);
}
