// Placeholder until the sqlite backend lands.
export {};
