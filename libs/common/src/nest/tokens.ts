/** Injection tokens for what libs/common provides to the services. */
export const LOGSPLIT_CONFIG = Symbol('LOGSPLIT_CONFIG');
export const KAFKA = Symbol('KAFKA');
export const REDIS = Symbol('REDIS');
export const STORAGE = Symbol('STORAGE');
export const CODEC = Symbol('CODEC');
