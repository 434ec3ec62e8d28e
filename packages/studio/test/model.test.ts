import { describe, expect, it } from 'vitest';
import { analyse, endOfTurn, entries } from '../src/model.js';
import { safeImageSource } from '../src/shared/safe-url.js';
import { everyVariant, picturePng } from './fixtures.js';

describe('analyse', () => {
  it('starts a turn at each user message, pairs calls with outputs by callId, sums usage per turn', () => {
    const items = everyVariant();
    const analysis = analyse(items);
    expect(analysis.turns.map((t) => [t.turn, t.start, t.end])).toEqual([
      [0, 0, 1],
      [1, 1, 7],
      [2, 7, 13],
      [3, 13, 18],
      [4, 18, 21],
    ]);
    expect(analysis.turns[1]!.usage).toEqual({ inputTokens: 812, outputTokens: 64, totalTokens: 876 });
    expect(analysis.turns[3]!.usage).toBeUndefined();
    // function_call #3 ↔ result #4, computer #8 ↔ #9, shell #10 ↔ #11, apply_patch #14 ↔ #15.
    for (const [call, output] of [
      [3, 4],
      [8, 9],
      [10, 11],
      [14, 15],
    ] as const) {
      expect([analysis.pairOf[call], analysis.pairOf[output]]).toEqual([output, call]);
    }
    expect(analysis.pairOf[5]).toBe(-1); // a hosted tool call carries its own output
    const page = entries(items, analysis, 3, 5);
    expect(page[0]!.pair).toEqual({ role: 'call', index: 4, item: items[4] });
    expect(page[1]!.pair).toEqual({ role: 'output', index: 3 });
    expect(entries(items, analysis, 7, 8)[0]!.turnStart).toBe(true);
    expect(endOfTurn(analysis, 2, items.length)).toBe(13);
    expect(endOfTurn(analysis, 4, items.length)).toBe(21);
  });

  it('leaves an output without its call unpaired, and a history without user messages in turn 0', () => {
    const analysis = analyse([
      { type: 'function_call_result', callId: 'c1', name: 'f', status: 'completed', output: 'x' },
      { type: 'function_call', callId: 'c1', name: 'f', arguments: '{}' },
    ]);
    expect([...analysis.pairOf]).toEqual([-1, -1]);
    expect(analysis.turns).toEqual([{ turn: 0, start: 0, end: 2 }]);
  });
});

describe('safeImageSource', () => {
  it('accepts raster data: URLs, https: URLs and bare base64 of known image types', () => {
    const png = picturePng(4, 4);
    expect(safeImageSource(png)).toBe(png);
    expect(safeImageSource('https://example.com/a.png')).toBe('https://example.com/a.png');
    expect(safeImageSource(png.slice('data:image/png;base64,'.length))).toBe(png);
  });

  it('refuses script, svg, http, credentials and anything unrecognised', () => {
    for (const value of [
      'javascript:alert(1)',
      'JAVASCRIPT:alert(1)',
      ' javascript:alert(1)',
      'data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEpIi8+',
      'data:text/html;base64,PHNjcmlwdD4=',
      'data:image/png,<svg>',
      'http://example.com/a.png',
      'https://user:pass@example.com/a.png',
      '//example.com/a.png',
      '/api/store',
      'x',
      42,
      undefined,
    ]) {
      expect(safeImageSource(value), String(value)).toBeUndefined();
    }
  });
});
