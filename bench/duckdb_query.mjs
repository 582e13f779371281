// The DuckDB side of bench/06_query.py and bench/10_parquet_query.py: reads the lake objects
// in place (newline-delimited JSON at their S3 keys, or with format `parquet` the .parquet
// objects) and runs each query given on stdin (a JSON array of SQL strings, the table written
// as `lake`), printing one JSON line: per query {ms, rows}. Threads as given.
//   node duckdb_query.mjs ROOT [THREADS] [json|parquet]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

// The oracle lives in tools/node_modules (scripts/deps.sh), not beside this file.
const require = createRequire(new URL('../tools/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const [root, threads, format] = process.argv.slice(2);
const queries = JSON.parse(readFileSync(0, 'utf8'));
const instance = await DuckDBInstance.create(':memory:', { threads: String(threads || 2) });
const conn = await instance.connect();
const columns = "{orderid: 'VARCHAR', product_name: 'VARCHAR', quantity: 'BIGINT', " +
  "price: 'DOUBLE', cdc_event_type: 'VARCHAR', creation_datetime: 'VARCHAR', " +
  "sequence_number: 'VARCHAR'}";
if (format === 'parquet')
  await conn.run(`CREATE VIEW lake AS SELECT * FROM read_parquet('${root}/*/*/*/*/*.parquet', ` +
    `filename = true)`);
else
  await conn.run(`CREATE VIEW lake AS SELECT * FROM read_json('${root}/*/*/*/*/*', ` +
    `format = 'newline_delimited', columns = ${columns}, filename = true)`);
const out = [];
for (const q of queries) {
  const t0 = performance.now();
  const reader = await conn.runAndReadAll(q);
  const rows = reader.getRowObjectsJson();
  out.push({ ms: performance.now() - t0, rows });
}
console.log(JSON.stringify(out));
