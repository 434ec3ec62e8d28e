/**
 * Peak heap while reading a long history. The V8 heap's used size only peaks right before a
 * garbage collection or at the end of the operation, so the peak is exact from V8's own GC
 * profile (`v8.GCProfiler`: heap statistics before every collection) plus one reading at the end
 * while the result is still held. Everything is relative to a heap collected just before.
 */
import { GCProfiler, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describeError, median } from './timing.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

export interface HeapPeak {
  /** Peak used heap above the collected baseline, MiB (median of the runs). */
  peakHeapMiB: number;
  /** Heap still held by the returned history once garbage is collected, MiB. */
  retainedHeapMiB: number;
  /** Peak of memory outside the heap (Buffers from the driver), MiB above baseline. */
  peakExternalMiB: number;
  runs: number;
  items: number;
}

export type HeapOutcome = { heap: HeapPeak } | { error: string };

const MiB = 1024 * 1024;

export async function measurePeakHeap(read: () => Promise<unknown[]>, runs: number): Promise<HeapOutcome> {
  const peaks: number[] = [];
  const retained: number[] = [];
  const external: number[] = [];
  let items = 0;
  try {
    // (the timing runs before this one have compiled the code and opened the connections)
    for (let r = 0; r < runs; r++) {
      const run = await readOnce(read);
      // only now is nothing left holding the result (an async frame keeps its awaited values)
      gc();
      const released = process.memoryUsage().heapUsed;
      items = run.items;
      // baseline: the lower of the heap collected before and after (either may hold stray garbage)
      peaks.push((run.peakHeap - Math.min(run.before.heapUsed, released)) / MiB);
      retained.push(Math.max(0, run.held - released) / MiB);
      external.push(Math.max(0, run.peakExternal - run.before.external) / MiB);
    }
    return {
      heap: {
        peakHeapMiB: median(peaks),
        retainedHeapMiB: median(retained),
        peakExternalMiB: median(external),
        runs,
        items,
      },
    };
  } catch (error) {
    return { error: describeError(error) };
  }
}

async function readOnce(read: () => Promise<unknown[]>) {
  gc();
  gc();
  const before = process.memoryUsage();
  const profiler = new GCProfiler();
  profiler.start();
  const result = await read();
  const end = process.memoryUsage();
  const profile = profiler.stop();
  let peakHeap = end.heapUsed;
  let peakExternal = end.external;
  for (const entry of profile.statistics) {
    const stats = entry.beforeGC.heapStatistics;
    peakHeap = Math.max(peakHeap, stats.usedHeapSize);
    peakExternal = Math.max(peakExternal, stats.externalMemory);
  }
  gc();
  const held = process.memoryUsage().heapUsed;
  return { before, peakHeap, peakExternal, held, items: result.length };
}

export function collectGarbage(): void {
  gc();
}
