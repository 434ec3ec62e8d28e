// Placeholder until the mongo backend lands.
export {};
