import { NibbleError, SeededRandom } from '@nibble/ir';
import { type OptionSpec, parsePipeline, type PassSpec, PipelineSyntaxError, printPipeline } from './pipeline-text';
import { thrown } from './testing/tiny-graph';

describe('pipeline text', () => {
  // Canonical text: print(parse(s)) === s.
  const canonical = [
    '',
    'fold-bn',
    'fold-bn,mark-fused-relu,clip-aciq{dist=laplace,target=activations},alloc-bits{budget=4},quantize,bias-correct{mode=mean}',
    'alloc-bits{bits=[4,8]}',
    'alloc-bits{bits=[]}',
    'alloc-bits{bits=[2,4,8],budget=3.5e0}',
    'p{s="a,b"}',
    'p{s="{braces}"}',
    'p{s="[not a list]"}',
    'p{s="k=v"}',
    'p{s="say \\"hi\\""}',
    'p{s="back\\\\slash,"}',
    'p{s=plain\\back}',
    'p{s="two words"}',
    'p{s=""}',
    'p{l=["a,b",c]}',
    'p{l=[a]}',
    'p{l=[""]}',
    'p{l=["",""]}',
    'p{l=["[x]","{y}","k=v","two words","say \\"hi\\"",fc*,conv2:w8]}',
    'p{l=[],m=[a,"b c"]}',
    'p{x=-1.5,y=+2,z=.5}',
    'ns.pass_1{opt_a=1}',
  ];
  it.each(canonical)('round-trips %j', (text) => {
    expect(printPipeline(parsePipeline(text))).toBe(text);
  });

  const tolerant: [string, string][] = [
    [' a , b{ k = v } ', 'a,b{k=v}'],
    ['a{}', 'a'],
    ['a { k = [ 1 , 2 ] }', 'a{k=[1,2]}'],
    ['a{s= "x y" }', 'a{s="x y"}'],
    ['a{s=x y}', 'a{s="x y"}'],
    ['a{s="plain"}', 'a{s=plain}'],
    ['a{l=[ "x" , y z ,"w" ]}', 'a{l=[x,"y z",w]}'],
    ['a{l=[ ]}', 'a{l=[]}'],
    ['a,\n  b{k=1}\n', 'a,b{k=1}'],
    ['   ', ''],
  ];
  it.each(tolerant)('normalises %j to %j', (text, want) => {
    expect(printPipeline(parsePipeline(text))).toBe(want);
  });

  it('keeps values as text and lists as arrays', () => {
    const spec = parsePipeline('clip-aciq{dist=laplace, bits=[4, 8], note="a, b"}');
    expect(spec.passes).toHaveLength(1);
    expect(spec.passes[0].name).toBe('clip-aciq');
    expect(spec.passes[0].options.map((o) => [o.key, o.value])).toEqual([
      ['dist', 'laplace'],
      ['bits', ['4', '8']],
      ['note', 'a, b'],
    ]);
    expect(spec.passes[0].column).toBe(1);
    expect(spec.passes[0].options[1].column).toBe(25);
  });

  const errors: [string, number, RegExp][] = [
    ['a,,b', 3, /expected a pass name, found ','/],
    ['a,', 3, /expected a pass name after the comma/],
    ['a{k=1', 6, /expected ',' or '}'.*end of the text/],
    ['a{k}', 4, /expected '=' after option name 'k'/],
    ['a{k=}', 5, /expected a value, found '}'/],
    ['a{k="open}', 5, /no closing "/],
    ['a{k="\\n"}', 7, /unknown escape/],
    ['a{k=[1,2}', 9, /expected ',' or '\]' in a list/],
    ['a{k=1,k=2}', 7, /option 'k' of pass 'a' is given twice/],
    ['a b', 3, /expected ',' between passes.*found 'b'/],
    ['1pass', 1, /expected a pass name, found '1'/],
    ['a}', 2, /found '}'/],
    ['a{l=[[1,2]]}', 6, /a list cannot hold a list/],
    ['a{l=[x,[y]]}', 8, /a list cannot hold a list/],
    ['a{l=[x]y}', 8, /expected ',' or '}'.*found 'y'/],
    ['a{l=[x,]}', 8, /expected a value, found '\]'/],
    ['a{l=[,x]}', 6, /expected a value, found ','/],
    ['a{l=["x]}', 6, /no closing "/],
  ];
  it.each(errors)('rejects %j at column %d', (text, column, what) => {
    const e = thrown(() => parsePipeline(text)) as unknown as PipelineSyntaxError;
    expect(e).toBeInstanceOf(NibbleError);
    expect(e).toBeInstanceOf(PipelineSyntaxError);
    expect(e.code).toBe('E_PIPELINE_SYNTAX');
    expect(e.column).toBe(column);
    expect(e.message).toMatch(what);
    expect(e.message).toContain(`column ${column}`);
    // The caret sits under the offending character.
    const lines = e.message.split('\n');
    const textLine = lines[lines.length - 2];
    const caret = lines[lines.length - 1];
    expect(textLine).toBe(`  ${text}`);
    expect(caret.indexOf('^')).toBe(2 + column - 1);
    expect(e.hint).toMatch(/commas/);
  });

  it('round-trips random specs (values with every special character)', () => {
    // Seeded, so a failure reproduces.
    const seeded = new SeededRandom(0x9e3779b9);
    const rand = (n: number): number => seeded.nextInt(n);
    const pick = (s: string): string => s[rand(s.length)];
    const word = (): string => Array.from({ length: 1 + rand(6) }, () => pick('abcxyz019-_.')).join('');
    const name = (): string => pick('abcz') + word();
    const scalar = (): string => Array.from({ length: rand(8) }, () => pick('ab1.-,{}[]="\\ ')).join('');
    for (let t = 0; t < 500; t++) {
      const passes: PassSpec[] = Array.from({ length: 1 + rand(4) }, () => {
        const keys = [...new Set(Array.from({ length: rand(4) }, name))];
        const options: OptionSpec[] = keys.map((key) => ({ key, value: rand(3) === 0 ? Array.from({ length: rand(4) }, scalar) : scalar() }));
        return { name: name(), options };
      });
      const text = printPipeline({ passes });
      const back = parsePipeline(text);
      expect(back.passes.map((p) => ({ name: p.name, options: p.options.map((o) => ({ key: o.key, value: o.value })) }))).toEqual(passes);
      expect(printPipeline(back)).toBe(text);
    }
  });
});
