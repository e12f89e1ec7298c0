import { channelLayout, normalizeAxis } from './layout';

describe('channel layout', () => {
  it('splits a shape around an axis, negative axes included', () => {
    expect(channelLayout([2, 3, 4], 1)).toMatchObject({ outer: 2, channels: 3, inner: 4, size: 24 });
    expect(channelLayout([2, 3, 4], -1)).toMatchObject({ axis: 2, outer: 6, channels: 4, inner: 1 });
    expect(channelLayout([2, 3], null)).toMatchObject({ outer: 1, channels: 1, inner: 6 });
    expect(() => normalizeAxis(3, 3)).toThrow(expect.objectContaining({ code: 'E_BAD_OPTION' }));
    expect(() => channelLayout([2, 3], 1, 2)).toThrow(expect.objectContaining({ code: 'E_SHAPE' }));
  });
});
