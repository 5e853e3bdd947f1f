/**
 * svccfg's help texts (svccfg_help.c and help() in svccfg_engine.c), word for word. `help cmd`
 * prints "Usage: " followed by the command's text.
 */
import type { Keyword } from "./lexer.ts";

export const GENERAL_HELP =
  "General commands:\t help set repository end\n" +
  "Manifest commands:\t inventory validate import export archive\n" +
  "Profile commands:\t apply extract\n" +
  "Entity commands:\t list select unselect add delete describe\n" +
  "Snapshot commands:\t listsnap selectsnap revert\n" +
  "Instance commands:\t refresh\n" +
  "Property group commands: listpg addpg delpg\n" +
  "Property commands:\t listprop setprop delprop editprop\n" +
  "Property value commands: addpropvalue delpropvalue setenv unsetenv\n";

const TEXTS: Partial<Record<Keyword, string>> = {
  validate: "validate [file | fmri]\n\nValidate a manifest file without changing the repository.\nValidate an instance FMRI against the template specifications.",
  import: "import [-V] file\n\nImport a manifest into the repository.  With -V force strict adherence\nto the template specifications.",
  export: "export [-a] {service | pattern} [> file]\n\nPrint a manifest for service to file, or standard output if not specified.",
  archive: "archive [-a] [> file]\n\nPrint an archive to file, or standard output if not specified.",
  restore: "restore file\n\nRestore the contents of a previously-generated archive.",
  apply: "apply file\n\nApply a profile.",
  extract: "extract [> file]\n\nPrint a profile to file, or standard output if not specified.",
  repository: "repository file\n\nSet the repository to modify.",
  inventory: "inventory file\n\nPrint the services and instances contained in a manifest.",
  set: "set [-vV]\n\nWithout arguments, display current options.  Otherwise set the given options.",
  end: "end\n\nStop processing and exit.",
  help: "help [command]\n\nDisplay help.",
  list: "list [glob_pattern]\n\nList children of the currently selected entity.",
  add: "add name\n\nAdd a new child entity to the currently selected entity.",
  delete: "delete [-f] {name | fmri | pattern}\n\nDelete the named child entity or the one indicated by fmri.  With -f, delete\nrunning services.\n",
  select: "select {name | fmri | pattern}\n\nSelect the named child entity or the one indicated by fmri.",
  unselect: "unselect\n\nSelect the parent of the currently selected entity.",
  listpg: "listpg [glob_pattern]\n\nList property groups of the currently selected entity.",
  addpg: "addpg name type [P]\n\nAdd a new property group to the currently selected entity.",
  delpg: "delpg name\n\nDelete the named property group from the currently selected entity.",
  delhash: "delhash [-d] manifest\n\nDelete the named manifest hash entry (from smf/manifest).\nWith -d, manifest file doesn't need to exist.",
  listprop: "listprop [glob_pattern]\n\nList property groups and properties of the currently selected entity.",
  setprop:
    "\tsetprop pg/name = [type:] value\n\tsetprop pg/name = [type:] ([value...])\n\n" +
    "Set the pg/name property of the currently selected entity.  Values may be\nenclosed in double-quotes.  Value lists may span multiple lines.",
  delprop: "delprop pg/name\n\nDelete the pg/name property of the currently selected entity.",
  editprop: "editprop\n\nInvoke $EDITOR to edit the properties of the currently selected entity.",
  describe:
    "describe [-v] [-t] [propertygroup/property]\n\nDescribe the current properties.  With -v, describe verbosely.  With -t,\n" +
    "show only template data, not current properties.",
  addpropvalue: "addpropvalue pg/name [type:] value\n\nAdd the given value to the named property.",
  delpropvalue: "delpropvalue pg/name glob_pattern\n\nDelete all values matching the glob pattern fron the given property.",
  setenv: "setenv [-s | -i | -m method] NAME value\n\nSet an environment variable for the given service, instance, or method context.",
  unsetenv: "unsetenv [-s | -i | -m method] NAME value\n\nUnset an environment variable for the given service, instance, or method context.",
  listsnap: "listsnap\n\nList snapshots of the currently selected instance.",
  selectsnap: "selectsnap [snapshot]\n\nSelect a snapshot of the currently selected instance, or the Editing\nsnapshot by default.",
  revert:
    "revert [snapshot]\n\nChange the properties of the currently selected instance and its ancestors\n" +
    "to those in a snapshot, or the currently selected snapshot by default.",
  refresh:
    "refresh\n\nCommit the values from the current configuration to the running\n" +
    "snapshot, making them available for use by the currently selected\n" +
    "instance.  If the repository subcommand has not been used to select\n" +
    "a repository, inform the instance's restarter to re-read the updated\nconfiguration.",
};

/** What `help [cmd]` prints (through svccfg's warn(), so it follows the message rules). */
export function helpText(command?: Keyword): string {
  if (command === undefined) return GENERAL_HELP;
  // exit and quit share end's token, as in svccfg.l.
  const key = command === "exit" || command === "quit" ? "end" : command;
  const text = TEXTS[key];
  return text === undefined ? "Unknown command.\n" : `Usage: ${text}\n`;
}
