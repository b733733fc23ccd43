/**
 * The module templates (templates/module/<lang>/<name>/) and module APIs `apxs-ts new` offers: what
 * its help and completion list.
 */
export const MODULE_TEMPLATES = ['hello', 'handler', 'info'] as const;
export type ModuleTemplate = (typeof MODULE_TEMPLATES)[number];
export const MODULE_APIS = ['1.3', '2'] as const;
