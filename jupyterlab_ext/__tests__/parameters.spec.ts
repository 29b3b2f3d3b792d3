import { parseFieldValue, parseParameters } from '../model/parameters';

describe('parameters cell', () => {
  it('reads typed parameters with help from comments', () => {
    const params = parseParameters(
      'alpha = 0.5  # learning rate\nepochs: int = 10\nname = "run # 1"\nverbose = True\nseed = None\nlayers = [1, 2]\nimport os\n  indented = 1\nepochs = 20\n'
    );
    expect(params.map(p => [p.name, p.type, p.literal, p.help])).toEqual([
      ['alpha', 'float', '0.5', 'learning rate'],
      ['name', 'str', '"run # 1"', ''],
      ['verbose', 'bool', 'True', ''],
      ['seed', 'none', 'None', ''],
      ['layers', 'other', '[1, 2]', ''],
      ['epochs', 'int', '20', '']
    ]);
  });

  it('converts form values by type and refuses bad numbers', () => {
    const [alpha, epochs, flag] = parseParameters('alpha = 0.5\nepochs = 3\nflag = False');
    expect(parseFieldValue(alpha, '1e-3')).toBe(0.001);
    expect(parseFieldValue(epochs, '7')).toBe(7);
    expect(() => parseFieldValue(epochs, '7.5')).toThrow('whole number');
    expect(parseFieldValue(flag, 'True')).toBe(true);
  });
});
