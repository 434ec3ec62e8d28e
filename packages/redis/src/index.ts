// Placeholder until the redis backend lands.
export {};
