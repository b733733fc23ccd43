import { ApxsError } from '../core/errors.js';

export interface ModuleName {
  /** Short name: the handler name and the prefix of the module symbol (`info`). */
  name: string;
  /** Directory and file stem (`mod_info`). */
  stem: string;
  /** The exported module record (`info_module`). */
  symbol: string;
}

const VALID = /^[A-Za-z][A-Za-z0-9_]{0,62}$/;

/**
 * Accepts `info` or `mod_info`. The name becomes a C identifier, a file name
 * and a handler name, so only letters, digits and `_` are allowed.
 */
export function parseModuleName(input: string): ModuleName {
  const name = input.startsWith('mod_') ? input.slice(4) : input;
  if (!VALID.test(name)) {
    const shown = JSON.stringify(input);
    const why = /[\/\\]/.test(input)
      ? 'it contains a path separator'
      : /\s/.test(input)
        ? 'it contains whitespace'
        : name === ''
          ? 'it is empty'
          : /^[^A-Za-z]/.test(name)
            ? 'it must start with a letter'
            : name.length > 63
              ? 'it is longer than 63 characters'
              : 'only letters, digits and _ are allowed';
    throw new ApxsError('BAD_MODULE_NAME', `bad module name ${shown}: ${why}`, {
      hint: 'use a C identifier such as info or mod_info',
    });
  }
  return { name, stem: `mod_${name}`, symbol: `${name}_module` };
}
