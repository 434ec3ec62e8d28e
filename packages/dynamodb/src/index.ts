// Placeholder until the dynamodb backend lands.
export {};
