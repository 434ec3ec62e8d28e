import { describe, expect, it } from 'vitest';
import { MissingTables } from '../../src/index.js';

class NoSuchTable extends Error {}
class Explained extends Error {}

const policy = (createIfMissing: boolean) =>
  new MissingTables({
    createIfMissing,
    isMissingTable: (error) => error instanceof NoSuchTable,
    explain: (cause) => new Explained('run setup()', { cause }),
    isExplained: (error) => error instanceof Explained,
  });
const fails = (error: Error) => () => Promise.reject(error);

describe('MissingTables', () => {
  it('without createIfMissing: missing tables read as empty, and writes fail with the explained error', async () => {
    const missing = policy(false);
    expect(await missing.read(fails(new NoSuchTable()), 'empty')).toBe('empty');
    expect(await missing.read(fails(new Explained('x')), [])).toEqual([]);
    const driverError = new NoSuchTable();
    const error = await missing.write(fails(driverError)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Explained);
    expect((error as Error).cause).toBe(driverError);
    const explained = new Explained('already');
    expect(await missing.write(fails(explained)).catch((e: unknown) => e)).toBe(explained);
    expect(await missing.write(async () => 42)).toBe(42);
  });

  it('with createIfMissing, or for any other error, nothing is swallowed or rewrapped', async () => {
    const creating = policy(true);
    const driverError = new NoSuchTable();
    await expect(creating.read(fails(driverError), 'empty')).rejects.toBe(driverError);
    await expect(creating.write(fails(driverError))).rejects.toBe(driverError);
    const other = new Error('connection reset');
    await expect(policy(false).read(fails(other), 'empty')).rejects.toBe(other);
    await expect(policy(false).write(fails(other))).rejects.toBe(other);
  });
});
