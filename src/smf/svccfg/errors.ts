/**
 * svccfg's messages (svccfg_libscf.c emsg_* and friends). They keep SMF's trailing newline: the
 * engine prints them through its message rules (prefix, stream) unchanged.
 */

/** A semantic error: the command did nothing; non-interactive svccfg exits 1 after printing it. */
export class SvccfgError extends Error {
  constructor(readonly text: string) {
    super(text.replace(/\n$/, ""));
  }
}

export const msg = {
  entityNotSelected: "An entity is not selected.\n",
  cantModifySnapshots: "Cannot modify snapshots.\n",
  deleted: "Current selection has been deleted.\n",
  instanceNotSelected: "Instance not selected.\n",
  syntax: "Syntax error.\n",
  needSlash: "Property names must contain a `/'.\n",
  typeRequired: "Type required for new properties.\n",
  quotesRequired: "Multiple string values or string values with spaces must be quoted with '\"'.\n",
  pgExists: "Property group already exists.\n",
  pgInvalid: "Name, type, or flags are invalid.\n",
  cannotUnselectScope: "Cannot unselect at scope level.\n",
  noParentLevels: "No parent levels.\n",
  notAnEntity: ":properties is not an entity.  Try 'listprop' to list properties.\n",
  noSuchSnapshot: "No such snapshot.\n",
  invalidPgName: (name: string) => `Invalid property group name "${name}".\n`,
  invalidPropName: (name: string) => `Invalid property name "${name}".\n`,
  noSuchPg: (name: string) => `No such property group "${name}".\n`,
  noSuchProp: (pg: string, prop: string) => `No such property ${pg}/${prop}.\n`,
  unknownType: (word: string) => `Unknown type "${word}".\n`,
  unknownCommand: (word: string) => `Unknown command "${word}".\n`,
  pgFlag: (flag: string) => `Invalid property group flag ${flag}.\n`,
  noMatch: (pattern: string) => `Pattern '${pattern}' doesn't match any instances or services\n`,
  multiMatch: (pattern: string, fmris: string[]) =>
    `Pattern '${pattern}' matches multiple instances:\n${fmris.map((f) => `    ${f}\n`).join("")}`,
  unsupported: (keyword: string) => `"${keyword}" is not supported by xvm's svccfg.\n`,
} as const;
