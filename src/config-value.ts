/** A typed configuration value (an SMF boolean, integer/count or astring). A leaf module. */
export type ConfigValue = boolean | number | string;
