import { afterAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { DataFormatError } from '../../src/data/errors.js';
import { loadInteractions, loadUserAttributes } from '../../src/data/generic.js';
import { loadMovieLens, loadMovieLens100K, loadMovieLens1M } from '../../src/data/movielens.js';
import { preprocess } from '../../src/data/preprocess.js';
import { splitCsvLine } from '../../src/data/fields.js';
import { hasMl100k, ml100kDir, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Awaits `p`, expects a DataFormatError at `file`:`line` whose reason matches `reason`. */
async function expectFormatError(p: Promise<unknown>, file: string, line: number, reason: RegExp): Promise<DataFormatError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(DataFormatError);
  const e = err as DataFormatError;
  expect(e.file).toBe(file);
  expect(e.line).toBe(line);
  expect(e.reason).toMatch(reason);
  expect(e.message).toContain(path.basename(file));
  if (line > 0) expect(e.message).toContain(`:${line}:`);
  return e;
}

describe('1. CSV line splitting', () => {
  it('splits plain and quoted fields', () => {
    expect(splitCsvLine('a,b,,c', ',', 'f', 1)).toEqual(['a', 'b', '', 'c']);
    expect(splitCsvLine('"a,b",c,"say ""hi"""', ',', 'f', 1)).toEqual(['a,b', 'c', 'say "hi"']);
    expect(splitCsvLine('x,"y",', ',', 'f', 1)).toEqual(['x', 'y', '']);
  });
  it('rejects an unterminated quote with the line', () => {
    expect(() => splitCsvLine('a,"b', ',', 'f.csv', 7)).toThrow(/f\.csv:7: unterminated quoted field/);
  });
});

describe('2. generic interactions loader', () => {
  it('reads a CSV with a header, named columns, duplicates and an attribute file', async () => {
    const f = tmp.write(
      'good.csv',
      ['user,item,ts,rating', 'u1,i1,100,5', 'u1,"i,2",90,4', 'u2,i1,50,3', '', 'u1,i1,100,5', 'u1,i1,200,2', 'u3,i3,10,1'].join('\n') + '\n',
    );
    const a = tmp.write('attrs.csv', ['uid,gender,age', 'u1,F,30', 'u2,M,', 'u9,M,40'].join('\r\n'));
    const log = await loadInteractions(f, {
      columns: { user: 'user', item: 'item', timestamp: 'ts', rating: 'rating' },
      userAttributes: { file: a, userColumn: 'uid' },
    });
    // exact duplicate (u1, i1, 100) dropped; re-consumption at 200 kept
    expect(log.users).toEqual(['u1', 'u1', 'u2', 'u1', 'u3']);
    expect(log.items).toEqual(['i1', 'i,2', 'i1', 'i1', 'i3']);
    expect([...log.timestamps]).toEqual([100, 90, 50, 200, 10]);
    expect([...log.ratings!]).toEqual([5, 4, 3, 2, 1]);
    expect(log.stats.duplicatesDropped).toBe(1);
    expect(log.attributeNames).toEqual(['gender', 'age']);
    expect(log.userAttributes.get('u1')).toEqual({ gender: 'F', age: '30' });
    // empty cell -> unknown; user without a row -> unknown; u9 (no interactions) ignored
    expect(log.userAttributes.get('u2')).toEqual({ gender: 'M', age: 'unknown' });
    expect(log.userAttributes.get('u3')).toEqual({ gender: 'unknown', age: 'unknown' });
    expect(log.userAttributes.has('u9')).toBe(false);
    expect(log.stats.attributeRowsIgnored).toBe(1);
    expect(log.stats.usersWithoutAttributes).toBe(1);
  });

  it('keeps or rejects duplicates on request', async () => {
    const f = tmp.write('dups.tsv', 'a\tb\t1\na\tb\t1\n');
    const kept = await loadInteractions(f, { header: false, columns: { user: 0, item: 1, timestamp: 2 }, duplicates: 'keep' });
    expect(kept.users.length).toBe(2);
    await expectFormatError(loadInteractions(f, { header: false, columns: { user: 0, item: 1, timestamp: 2 }, duplicates: 'error' }), f, 2, /duplicate event .* first seen on line 1/);
  });

  it('reads a TSV without header by column index', async () => {
    const f = tmp.write('noheader.tsv', '5\tx\t7\t3\n6\ty\t8\t1\n');
    const log = await loadInteractions(f, { header: false, columns: { user: 2, item: 1, timestamp: 3 } });
    expect(log.users).toEqual(['7', '8']);
    expect(log.items).toEqual(['x', 'y']);
    expect([...log.timestamps]).toEqual([3, 1]);
    expect(log.attributeNames).toEqual([]);
  });

  it('reads JSON lines as objects or arrays, and ISO dates when asked', async () => {
    const f = tmp.write('events.jsonl', '{"u": "a", "i": 3, "t": 10}\n\n{"u": 7, "i": "z", "t": "11"}\n');
    const log = await loadInteractions(f, { columns: { user: 'u', item: 'i', timestamp: 't' } });
    expect(log.users).toEqual(['a', '7']);
    expect(log.items).toEqual(['3', 'z']);
    expect([...log.timestamps]).toEqual([10, 11]);
    const g = tmp.write('arrays.ndjson', '["a", "b", "2024-01-01T00:00:00Z"]\n');
    const dated = await loadInteractions(g, { columns: { user: 0, item: 1, timestamp: 2 }, timestamps: 'date' });
    expect(dated.timestamps[0]).toBe(Date.UTC(2024, 0, 1) / 1000);
  });

  it('names file, line and reason for malformed input', async () => {
    const cols = { user: 'user', item: 'item', timestamp: 'ts' };
    const nonNum = tmp.write('nonnum.csv', 'user,item,ts\nu1,i1,5\nu1,i2,yesterday\n');
    await expectFormatError(loadInteractions(nonNum, { columns: cols }), nonNum, 3, /timestamp must be a number, got "yesterday"/);
    const missingCol = tmp.write('missingcol.csv', 'user,item,time\nu1,i1,5\n');
    await expectFormatError(loadInteractions(missingCol, { columns: cols }), missingCol, 1, /missing column "ts" \(timestamp\); header has "user", "item", "time"/);
    const shortRow = tmp.write('shortrow.csv', 'user,item,ts\nu1,i1,5\nu2,i2\n');
    await expectFormatError(loadInteractions(shortRow, { columns: cols }), shortRow, 3, /missing timestamp column: expected at least 3 fields, got 2/);
    const empty = tmp.write('empty.csv', '');
    await expectFormatError(loadInteractions(empty, { columns: cols }), empty, 0, /empty file/);
    const headerOnly = tmp.write('headeronly.csv', 'user,item,ts\n\n');
    await expectFormatError(loadInteractions(headerOnly, { columns: cols }), headerOnly, 0, /no data lines after the header/);
    const emptyId = tmp.write('emptyid.csv', 'user,item,ts\n,i1,5\n');
    await expectFormatError(loadInteractions(emptyId, { columns: cols }), emptyId, 2, /user id is empty/);
    const quote = tmp.write('quote.csv', 'user,item,ts\nu1,"i1,5\n');
    await expectFormatError(loadInteractions(quote, { columns: cols }), quote, 2, /unterminated quoted field/);
    const badJson = tmp.write('bad.jsonl', '{"u":1,"i":2,"t":3}\n{"u":1,\n');
    await expectFormatError(loadInteractions(badJson, { columns: { user: 'u', item: 'i', timestamp: 't' } }), badJson, 2, /invalid JSON/);
    const noKey = tmp.write('nokey.jsonl', '{"u":1,"i":2}\n');
    await expectFormatError(loadInteractions(noKey, { columns: { user: 'u', item: 'i', timestamp: 't' } }), noKey, 1, /missing timestamp column "t"/);
    const emptyJson = tmp.write('empty.jsonl', '\n\n');
    await expectFormatError(loadInteractions(emptyJson, { columns: { user: 'u', item: 'i', timestamp: 't' } }), emptyJson, 0, /empty file/);
    const missing = path.join(tmp.dir, 'nope.csv');
    await expectFormatError(loadInteractions(missing, { columns: cols }), missing, 0, /file not found/);
    const unknownExt = tmp.write('data.txt', 'a,b,1\n');
    await expectFormatError(loadInteractions(unknownExt, { columns: cols }), unknownExt, 0, /cannot tell the format/);
    const named = tmp.write('named-noheader.csv', 'a,b,1\n');
    await expectFormatError(loadInteractions(named, { header: false, columns: cols }), named, 0, /no header: use an index/);
  });

  it('rejects malformed attribute files', async () => {
    const twice = tmp.write('twice.csv', 'user,g\nu1,F\nu1,M\n');
    await expectFormatError(loadUserAttributes(twice), twice, 3, /user u1 is listed twice \(first on line 2\)/);
    const short = tmp.write('short.tsv', 'user\tg\tage\nu1\tF\n');
    await expectFormatError(loadUserAttributes(short), short, 2, /missing attribute "age" column/);
    const empty = tmp.write('empty-attrs.csv', 'user,g\n');
    await expectFormatError(loadUserAttributes(empty), empty, 0, /empty file/);
    const noHeader = tmp.write('attrs-noheader.csv', 'u1,F,30\n');
    const { names, rows } = await loadUserAttributes(noHeader, { header: false });
    expect(names).toEqual(['attr1', 'attr2']);
    expect(rows.get('u1')).toEqual({ attr1: 'F', attr2: '30' });
  });
});

describe('3. MovieLens loaders on small fixtures', () => {
  const d100 = path.join(tmp.dir, 'ml100');
  const d1m = path.join(tmp.dir, 'ml1m');

  it('reads an ML-100K layout, latin-1 titles included', async () => {
    tmp.write('ml100/u.data', '1\t10\t5\t300\n2\t10\t3\t100\n1\t20\t4\t200\n');
    tmp.write('ml100/u.user', '1|24|M|technician|85711\n2|53|F|other|94043\n3|23|M|writer|32067\n');
    tmp.write('ml100/u.item', Buffer.from('10|Toy Story (1995)|01-Jan-1995||url|0\n20|\xc1 k\xf6ldum klaka (Cold Fever) (1994)|x||url|0\n', 'latin1'));
    const log = await loadMovieLens100K(d100);
    expect(log.users).toEqual(['1', '2', '1']);
    expect([...log.ratings!]).toEqual([5, 3, 4]);
    expect(log.attributeNames).toEqual(['age', 'gender', 'occupation', 'zip']);
    expect(log.userAttributes.get('2')).toEqual({ age: '53', gender: 'F', occupation: 'other', zip: '94043' });
    expect(log.userAttributes.has('3')).toBe(false);
    expect(log.itemTitles!.get('20')).toBe('Á köldum klaka (Cold Fever) (1994)');
    expect((await loadMovieLens(d100)).users.length).toBe(3);
  });

  it('reads an ML-1M layout', async () => {
    tmp.write('ml1m/ratings.dat', '1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n');
    tmp.write('ml1m/users.dat', '1::F::1::10::48067\n2::M::56::16::70072\n');
    const log = await loadMovieLens1M(d1m);
    expect(log.items).toEqual(['1193', '661', '1193']);
    expect(log.userAttributes.get('1')).toEqual({ gender: 'F', age: '1', occupation: '10', zip: '48067' });
    expect(log.itemTitles).toBeUndefined(); // movies.dat is optional
    expect((await loadMovieLens(d1m)).source).toBe(path.resolve(d1m));
  });

  it('reports malformed MovieLens lines', async () => {
    const bad = path.join(tmp.dir, 'mlbad');
    tmp.write('mlbad/u.data', '1\t10\t5\t300\n1\t11\t5\n');
    tmp.write('mlbad/u.user', '1|24|M|technician|85711\n');
    await expectFormatError(loadMovieLens100K(bad), path.join(bad, 'u.data'), 2, /expected 4 fields .* got 3/);
    tmp.write('mlbad/u.data', '1\t10\t5\t3e\n');
    await expectFormatError(loadMovieLens100K(bad), path.join(bad, 'u.data'), 1, /timestamp must be a number/);
    tmp.write('mlbad/u.data', '1\t10\t5\t300\n');
    tmp.write('mlbad/u.user', '1|24|M|technician\n');
    await expectFormatError(loadMovieLens100K(bad), path.join(bad, 'u.user'), 1, /expected 5 fields/);
    tmp.write('mlbad/u.data', '\n');
    await expectFormatError(loadMovieLens100K(bad), path.join(bad, 'u.data'), 0, /empty file/);
    await expectFormatError(loadMovieLens(path.join(tmp.dir, 'ml100', 'nothing')), path.join(tmp.dir, 'ml100', 'nothing'), 0, /not a MovieLens directory/);
  });
});

describe.skipIf(!hasMl100k)(`4. real ML-100K (${hasMl100k ? ml100kDir : 'absent: set SEQFAIR_DATA to the folder holding ml-100k/'})`, () => {
  it('loads 943 users, 1682 items, 100000 ratings with gender attributes and titles', async () => {
    const log = await loadMovieLens100K(ml100kDir);
    expect(log.users.length).toBe(100000);
    expect(log.stats.duplicatesDropped).toBe(0);
    expect(new Set(log.users).size).toBe(943);
    expect(new Set(log.items).size).toBe(1682);
    const genders = [...log.userAttributes.values()].map((a) => a.gender);
    expect(genders.filter((g) => g === 'M').length).toBe(670);
    expect(genders.filter((g) => g === 'F').length).toBe(273);
    expect(log.itemTitles!.size).toBe(1682);
    expect(log.itemTitles!.get('1633')).toMatch(/^Á köldum klaka/);
    expect(Math.min(...log.timestamps)).toBe(874724710);
    const ds = preprocess(log);
    expect(ds.numUsers).toBe(943);
    expect(ds.numItems).toBe(1682);
    expect(ds.stats.events).toBe(100000);
    expect(ds.itemIds[1]).toBe('1');
    expect(ds.itemIds[1682]).toBe('1682');
    expect(ds.itemTitles![1]).toBe('Toy Story (1995)');
  });
});
