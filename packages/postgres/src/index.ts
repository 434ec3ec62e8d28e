// Placeholder until the postgres backend lands.
export {};
