import { parseGraph, printGraph } from '@nibble/ir';
import { getPass, runPipeline } from '@nibble/core';
import { removeIdentityPass } from './remove-identity.pass';
import './index';

const lines = (...l: string[]): string => `${l.join('\n')}\n`;
const canonical = (text: string): string => printGraph(parseGraph(text));

async function run(text: string): Promise<{ text: string; modified: boolean }> {
  const r = await runPipeline(parseGraph(text), 'remove-identity');
  return { text: printGraph(r.graph), modified: r.modified };
}

describe("pass 'remove-identity'", () => {
  it('is registered under its pipeline name', () => {
    expect(getPass('remove-identity')).toBe(removeIdentityPass);
  });

  it('bypasses Identity and inference Dropout; a graph output keeps its name', async () => {
    const r = await run(
      lines(
        'graph g(%x : f32[4]) {',
        '  %a = Relu(%x)',
        '  %i = Identity(%a)',
        '  %d, _ = Dropout(%i) {ratio=0.5}',
        '  %b = Neg(%d)',
        '  %y = Identity(%b)',
        '  return %y',
        '}',
      ),
    );
    expect(r.modified).toBe(true);
    expect(r.text).toBe(canonical(lines('graph g(%x : f32[4]) {', '  %a = Relu(%x)', '  %y = Neg(%a) @b', '  return %y', '}')));
  });

  it('keeps Dropout in training mode or with its mask used, and Identity from an input to an output', async () => {
    const input = lines(
      'graph g(%x : f32[4]) {',
      '  %t : bool[] = const [1]',
      '  %r : f32[] = const [0.5]',
      '  %d1 = Dropout(%x, %r, %t)',
      '  %d2, %mask = Dropout(%d1)',
      '  %y = Identity(%x)',
      '  return %y, %d2, %mask',
      '}',
    );
    const r = await run(input);
    expect(r.modified).toBe(false);
    expect(r.text).toBe(canonical(input));
  });

  it('removes a Dropout whose training_mode is a constant false', async () => {
    const r = await run(lines('graph g(%x : f32[4]) {', '  %f : bool[] = const [0]', '  %d = Dropout(%x, _, %f)', '  %y = Neg(%d)', '  return %y', '}'));
    expect(r.text).toBe(canonical(lines('graph g(%x : f32[4]) {', '  %f : bool[] = const [0]', '  %y = Neg(%x)', '  return %y', '}')));
  });
});
