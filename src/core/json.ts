/** A JSON value: what every component's `config` is made of, so experiments can be logged and replayed. */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

/** A JSON object. */
export type JsonObject = { readonly [key: string]: Json };
