/**
 * The check of `config/xend-relocation-key` (no imports: svcs and svccfg read the declarations
 * without loading the plugin). The key itself never goes into the repository, which every local
 * user can read (repository.db is 0644): the value is empty or names a key file.
 */
export function checkKeyProperty(value: string): string | undefined {
  if (value === "" || value.startsWith("/")) return undefined;
  return "must be empty (the generated key file /etc/xen/relocation.key) or the absolute path of a key file; the key itself never goes into the repository, which every local user can read";
}
