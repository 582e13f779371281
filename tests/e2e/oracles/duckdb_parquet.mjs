// DuckDB as the Parquet oracle (tests/e2e/test_parquet_oracles.py):
//   node duckdb_parquet.mjs read FILE        prints {"columns":[[name,type]...],"rows":[...]}
//       every value as DuckDB's own text (timestamps as epoch ms, decimals as strings),
//       nested values as JSON, so the test compares text to text.
//   node duckdb_parquet.mjs write SQL FILE   runs COPY (SQL) TO FILE (FORMAT parquet, ...)
//       SQL is the full COPY options string after the query: argv[4].
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../../tools/package.json', import.meta.url));
const { DuckDBInstance } = require('@duckdb/node-api');

const [cmd, a, b, c] = process.argv.slice(2);
const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const conn = await instance.connect();
if (cmd === 'read') {
  const desc = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${a}')`))
    .getRowObjectsJson();
  const cols = desc.map((d) => [d.column_name, d.column_type]);
  const exprs = cols.map(([name, type]) => {
    const q = `"${name.replaceAll('"', '""')}"`;
    if (type.startsWith('TIMESTAMP')) return `epoch_ms(${q})::VARCHAR AS ${q}`;
    if (/^(STRUCT|MAP|.*\[\])/.test(type)) return `to_json(${q})::VARCHAR AS ${q}`;
    return `${q}::VARCHAR AS ${q}`;
  });
  const rows = (await conn.runAndReadAll(
    `SELECT ${exprs.join(', ')} FROM read_parquet('${a}')`)).getRowObjectsJson();
  console.log(JSON.stringify({ columns: cols, rows }));
} else if (cmd === 'write') {
  await conn.run(`COPY (${a}) TO '${b}' (FORMAT parquet${c ? ', ' + c : ''})`);
} else {
  console.error('usage: duckdb_parquet.mjs read FILE | write SQL FILE [OPTIONS]');
  process.exit(2);
}
