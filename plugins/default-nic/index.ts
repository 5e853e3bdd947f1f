import { chooseDefaultNic, definePlugin, legacyReason, readHostLinks, withValidation, type DomainSummary, type Link } from "xvm/plugin";
import { properties } from "./properties.ts";
import { fillVifDefaults, normalizeMac } from "./vifs.ts";

/** Why `value` cannot be the default NIC, or undefined when a link of that name exists. */
function invalidNic(value: string, links: readonly Link[]): string | undefined {
  if (value === "" || links.some((l) => l.name === value)) return undefined;
  const names = links.map((l) => l.name).join(", ") || "none";
  return `no link named '${value}' on this host (dladm show-link lists: ${names})`;
}

/** "eth0" when set, else "the automatic choice (eth0)". */
function describe(value: string, links: readonly Link[]): string {
  if (value !== "") return `'${value}'`;
  const chosen = chooseDefaultNic(links).link;
  return `the automatic choice (${chosen ? chosen.name : "no eligible link"})`;
}

async function domainsOrNone(list: () => Promise<DomainSummary[]>): Promise<DomainSummary[]> {
  try {
    return await list();
  } catch {
    return [];
  }
}

export default definePlugin({
  name: "default-nic",
  description: "Chooses the network interface guest vifs attach to by default.",
  // The host checks the value at start and on every refresh (the link may have appeared or gone):
  // a value naming no link is refused, and the value in force (at start the automatic choice) kept.
  properties: withValidation(properties, {
    "default-nic": {
      validate: (value) => invalidNic(value, readHostLinks()),
      show: (value) => describe(value, readHostLinks()),
    },
  }),
  setup(ctx) {
    const log = ctx.log;
    // MACs handed out by this daemon, so that two creations at once never draw the same one.
    const handedOut = new Set<string>();

    const report = (links: readonly Link[]): void => {
      const nic = ctx.config["default-nic"];
      if (nic !== "") {
        const link = links.find((l) => l.name === nic);
        const why = link ? legacyReason(link, links) : undefined;
        log.info(`default-nic: guest vifs without bridge= attach to ${nic}${why ? ` (chosen by config/default-nic although ${why})` : ""}`);
        return;
      }
      const choice = chooseDefaultNic(links);
      if (choice.link) log.info(`default-nic: guest vifs without bridge= attach to ${choice.explanation}`);
      else log.warn(`default-nic: ${choice.explanation}; vifs without bridge= stay unattached until a link qualifies or config/default-nic names one`);
    };

    report(readHostLinks());

    return {
      refresh(changes) {
        if (changes.has("default-nic")) report(readHostLinks());
      },
      hooks: {
        async domainPreCreate(request) {
          const { config } = request;
          if (config.vif.length === 0) return;
          const links = readHostLinks();
          const nic = ctx.config["default-nic"];
          let bridge: string | undefined = nic;
          if (nic === "") {
            bridge = chooseDefaultNic(links).link?.name;
          } else if (!links.some((l) => l.name === nic)) {
            // Links come and go (hot unplug): the vif is still attached by name, as configured.
            log.warn(`default-nic: ${nic} is no longer on this host; attaching ${config.name}'s vifs to it anyway`);
          }
          const owners = new Map<string, string>();
          for (const domain of await domainsOrNone(() => ctx.domains.list())) {
            if (domain.name === config.name) continue;
            for (const vif of domain.config.vif) if (vif.mac) owners.set(normalizeMac(vif.mac), domain.name);
          }
          config.vif.forEach((vif, i) => {
            const owner = vif.mac ? owners.get(normalizeMac(vif.mac)) : undefined;
            if (owner) log.warn(`default-nic: vif ${i} of ${config.name} has MAC ${vif.mac}, already used by domain ${owner}`);
          });
          const taken = new Set([...owners.keys(), ...handedOut]);
          const changes = fillVifDefaults(config.vif, { nic: bridge, taken });
          for (const change of changes) {
            if (change.mac) handedOut.add(change.mac);
            const what = [change.mac && `mac=${change.mac}`, change.bridge && `bridge=${change.bridge}`].filter(Boolean).join(", ");
            log.debug(`default-nic: vif ${change.index} of ${config.name}: ${what}`);
          }
          if (!bridge && config.vif.some((v) => !v.bridge)) {
            log.warn(`default-nic: no default NIC (${chooseDefaultNic(links).explanation}); ${config.name}'s vifs without bridge= are not attached`);
          }
        },
        domainDestroyed(domain) {
          for (const vif of domain.config.vif) if (vif.mac) handedOut.delete(normalizeMac(vif.mac));
        },
      },
    };
  },
});
