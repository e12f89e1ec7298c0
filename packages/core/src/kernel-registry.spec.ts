import { KernelRegistry } from './kernel-registry';

describe('KernelRegistry', () => {
  it('finds a kernel by op type, a later registration replaces an earlier one, and lists the ops sorted', () => {
    const r = new KernelRegistry<{ opType: string; tag: number }>();
    r.register({ opType: 'Relu', tag: 1 });
    r.register({ opType: 'Conv', tag: 2 });
    r.register({ opType: 'Relu', tag: 3 });
    expect(r.get('Relu')?.tag).toBe(3);
    expect(r.get('Gemm')).toBeUndefined();
    expect(r.ops()).toEqual(['Conv', 'Relu']);
  });
});
