/**
 * svccfg's messages (svccfg_libscf.c emsg_* and friends). They keep SMF's trailing newline: the
 * engine prints them through its message rules (prefix, stream) unchanged.
 */

import { escapeText } from "../../security/log-escape.ts";

/** Longest part of a value quoted in a message: enough to recognise it, never a screenful. */
export const QUOTED_MAX = 80;

/** A name or value quoted in a message: control characters escaped, cut to QUOTED_MAX. */
export function shown(value: string): string {
  return escapeText(value, QUOTED_MAX);
}

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
  invalidPgName: (name: string) => `Invalid property group name "${shown(name)}".\n`,
  invalidPropName: (name: string) => `Invalid property name "${shown(name)}".\n`,
  noSuchPg: (name: string) => `No such property group "${shown(name)}".\n`,
  noSuchProp: (pg: string, prop: string) => `No such property ${shown(pg)}/${shown(prop)}.\n`,
  unknownType: (word: string) => `Unknown type "${shown(word)}".\n`,
  unknownCommand: (word: string) => `Unknown command "${shown(word)}".\n`,
  pgFlag: (flag: string) => `Invalid property group flag ${shown(flag)}.\n`,
  noMatch: (pattern: string) => `Pattern '${shown(pattern)}' doesn't match any instances or services\n`,
  multiMatch: (pattern: string, fmris: string[]) =>
    `Pattern '${shown(pattern)}' matches multiple instances:\n${fmris.map((f) => `    ${f}\n`).join("")}`,
  unsupported: (keyword: string) => `"${shown(keyword)}" is not supported by xvm's svccfg.\n`,
} as const;
