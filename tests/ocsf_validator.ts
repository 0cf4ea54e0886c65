/**
 * An OCSF event validator over the official ocsf-schema sources (vendored under
 * tests/vendor/): the class is compiled the way the schema server compiles it (the event
 * extends its parents up to base_event, `$include`d files and profiles add attributes,
 * object types resolve recursively through objects/ and dictionary.json, enums merge), then
 * an event is checked against it: required attributes (error), recommended ones (warning),
 * unknown attributes and attributes of undeclared profiles (error), types with their
 * ranges, lengths and patterns, enum values of *_id attributes, object constraints
 * (`at_least_one`, `just_one`), type_uid = class_uid × 100 + activity_id, and the
 * schema version in metadata.version.
 *
 * @module
 */
import { join } from "node:path";

// deno-lint-ignore no-explicit-any -- schema sources are free-form JSON
type Json = any;

/** A compiled attribute: its dictionary entry merged with every definition's. */
export interface Attribute {
  type: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, { caption?: string }>;
  sibling?: string;
  profile?: string;
  "@deprecated"?: unknown;
}

/** A compiled class or object. */
export interface Compiled {
  attributes: Record<string, Attribute>;
  constraints: Record<string, string[]>;
}

/** What validation found: errors break the schema, warnings are missing recommendations. */
export interface OcsfReport {
  errors: string[];
  warnings: string[];
}

/** A compiled OCSF schema version that validates events of one class. */
export class OcsfSchema {
  readonly version: string;
  readonly #dir: string;
  readonly #dictionary: Record<string, Json>;
  readonly #types: Record<string, Json>;
  readonly #objects = new Map<string, Json>();
  readonly #events = new Map<string, Json>();
  readonly #compiledObjects = new Map<string, Compiled>();
  readonly #observableTypes: Set<number>;
  readonly #profiles: Set<string>;

  /** Reads the schema sources under `dir` (a vendored ocsf-schema checkout). */
  constructor(dir: string) {
    this.#dir = dir;
    this.version = this.#read("version.json").version;
    const dictionary = this.#read("dictionary.json");
    this.#dictionary = dictionary.attributes;
    this.#types = dictionary.types.attributes;
    for (const entry of Deno.readDirSync(join(dir, "objects"))) {
      const object = this.#read(join("objects", entry.name));
      this.#objects.set(object.name, object);
    }
    for (const path of ["events/base_event.json", ...this.#eventFiles()]) {
      const event = this.#read(path);
      this.#events.set(event.name, event);
    }
    this.#profiles = new Set(
      [...Deno.readDirSync(join(dir, "profiles"))].map((e) => e.name.replace(/\.json$/, "")),
    );
    // The observable type_id enum is generated from every type, attribute and object that
    // names an observable number (the schema server does the same).
    this.#observableTypes = new Set([0, 99]);
    for (const source of [this.#types, this.#dictionary, Object.fromEntries(this.#objects)]) {
      for (const value of Object.values(source) as Json[]) {
        if (typeof value?.observable === "number") this.#observableTypes.add(value.observable);
      }
    }
  }

  #eventFiles(): string[] {
    const dir = join(this.#dir, "events", "system");
    return [...Deno.readDirSync(dir)].map((e) => join("events", "system", e.name));
  }

  #read(path: string): Json {
    return JSON.parse(Deno.readTextFileSync(join(this.#dir, path)));
  }

  /** The attributes a definition file contributes, with its `$include`s resolved. */
  #ownAttributes(definition: Json): Record<string, Json> {
    let attributes: Record<string, Json> = {};
    const { $include, ...own } = definition.attributes ?? {};
    for (const path of $include ?? []) {
      const included = this.#read(path);
      const profile = included.meta === "profile" ? included.name : undefined;
      const add = this.#ownAttributes(included);
      if (profile) {
        for (const a of Object.values(add)) a.profile ??= profile;
      }
      attributes = deepMerge(attributes, add);
    }
    // An attribute the definition states itself is part of it, whatever profile also names
    // it (system requires device; the host profile only recommends it).
    const stated = Object.fromEntries(
      Object.entries(own).map(([k, a]) => [k, { profile: undefined, ...(a as object) }]),
    );
    return deepMerge(attributes, stated);
  }

  /** Merges a definition with the ones it extends, parent first. */
  #chain(definition: Json, lookup: Map<string, Json>): Compiled {
    const parent = definition.extends ? lookup.get(definition.extends) : undefined;
    const base: Compiled = parent
      ? this.#chain(parent, lookup)
      : { attributes: {}, constraints: {} };
    const attributes = deepMerge(base.attributes, this.#ownAttributes(definition));
    return {
      attributes,
      // A definition's constraints replace its parent's (process's pid/uid replace
      // _entity's name/uid), as keys of an extending definition do.
      constraints: definition.constraints ?? base.constraints,
    };
  }

  #resolve(attributes: Record<string, Json>): Record<string, Attribute> {
    const out: Record<string, Attribute> = {};
    for (const [name, a] of Object.entries(attributes)) {
      const dictionary = this.#dictionary[name];
      if (!dictionary) throw new Error(`schema: ${name} is not in the dictionary`);
      out[name] = deepMerge(structuredClone(dictionary), a);
    }
    return out;
  }

  #object(name: string): Compiled {
    let compiled = this.#compiledObjects.get(name);
    if (!compiled) {
      const object = this.#objects.get(name);
      if (!object) throw new Error(`schema: no object ${name}`);
      const chained = this.#chain(object, this.#objects);
      compiled = {
        attributes: this.#resolve(chained.attributes),
        constraints: chained.constraints,
      };
      if (name === "observable") {
        compiled.attributes.type_id.enum = Object.fromEntries(
          [...this.#observableTypes].map((n) => [String(n), {}]),
        );
      }
      this.#compiledObjects.set(name, compiled);
    }
    return compiled;
  }

  /** A class (by name, such as process_activity) or an object, compiled. */
  compiled(kind: "class" | "object", name: string): Compiled {
    if (kind === "object") return this.#object(name);
    const definition = this.#events.get(name);
    if (!definition) throw new Error(`schema: no class ${name}`);
    return this.#class(definition);
  }

  #class(definition: Json): Compiled {
    const chained = this.#chain(definition, this.#events);
    const attributes = this.#resolve(chained.attributes);
    attributes.class_uid.enum = { [String(1000 + definition.uid)]: {} };
    attributes.category_uid.enum = { "1": {} };
    // type_uid's values are generated: class_uid × 100 + each activity_id.
    const classUid = 1000 + definition.uid;
    attributes.type_uid.enum = Object.fromEntries(
      Object.keys(attributes.activity_id.enum ?? {}).map((a) => [String(classUid * 100 + +a), {}]),
    );
    return { attributes, constraints: chained.constraints };
  }

  /** Validates one event; the class comes from its class_uid. */
  validate(event: Json): OcsfReport {
    const report: OcsfReport = { errors: [], warnings: [] };
    const definition = [...this.#events.values()].find((e) =>
      e.uid !== undefined && e.uid + 1000 === event?.class_uid
    );
    if (!definition) {
      report.errors.push(`class_uid ${event?.class_uid} is not a System Activity class`);
      return report;
    }
    const compiled = this.#class(definition);
    const declared: string[] = Array.isArray(event.metadata?.profiles)
      ? event.metadata.profiles
      : [];
    const classProfiles = new Set(this.#classProfiles(definition));
    for (const p of declared) {
      if (!this.#profiles.has(p)) report.errors.push(`metadata.profiles: unknown profile ${p}`);
      else if (!classProfiles.has(p) && !this.#objectProfile(p)) {
        report.errors.push(`metadata.profiles: ${p} does not apply to ${definition.name}`);
      }
    }
    const profiles = new Set(declared);
    this.#check("", event, compiled, profiles, report);
    const activity = event.activity_id;
    if (event.type_uid !== event.class_uid * 100 + activity) {
      report.errors.push(`type_uid ${event.type_uid} is not class_uid × 100 + activity_id`);
    }
    if (event.metadata?.version !== this.version) {
      report.errors.push(`metadata.version ${event.metadata?.version} is not ${this.version}`);
    }
    return report;
  }

  #classProfiles(definition: Json): string[] {
    const parent = definition.extends ? this.#events.get(definition.extends) : undefined;
    return [...(definition.profiles ?? []), ...(parent ? this.#classProfiles(parent) : [])];
  }

  #objectProfile(profile: string): boolean {
    return [...this.#objects.values()].some((o) => (o.profiles ?? []).includes(profile));
  }

  #check(path: string, value: Json, compiled: Compiled, profiles: Set<string>, r: OcsfReport) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      r.errors.push(`${path || "event"}: expected an object`);
      return;
    }
    const active = (a: Attribute) => !a.profile || profiles.has(a.profile);
    const at = (name: string) => path ? `${path}.${name}` : name;
    for (const [name, a] of Object.entries(compiled.attributes)) {
      if (!active(a) || name in value) continue;
      if (a.requirement === "required") r.errors.push(`${at(name)}: required, missing`);
      if (a.requirement === "recommended") r.warnings.push(`${at(name)}: recommended, missing`);
    }
    for (const [kind, names] of Object.entries(compiled.constraints)) {
      const present = names.filter((n) => n in value).length;
      if (kind === "at_least_one" && present === 0) {
        r.errors.push(`${path || "event"}: needs at least one of ${names.join(", ")}`);
      }
      if (kind === "just_one" && present !== 1) {
        r.errors.push(`${path || "event"}: needs exactly one of ${names.join(", ")}`);
      }
    }
    for (const [name, v] of Object.entries(value)) {
      const a = compiled.attributes[name];
      const dt = name.endsWith("_dt") && profiles.has("datetime") &&
        compiled.attributes[name.slice(0, -3)]?.type === "timestamp_t";
      if (dt) {
        this.#checkValue(at(name), v, { type: "datetime_t" }, profiles, r);
        continue;
      }
      if (!a) {
        r.errors.push(`${at(name)}: not an attribute of this ${path ? "object" : "class"}`);
        continue;
      }
      if (!active(a)) {
        r.errors.push(`${at(name)}: belongs to profile ${a.profile}, not in metadata.profiles`);
        continue;
      }
      if (a["@deprecated"]) r.warnings.push(`${at(name)}: deprecated`);
      if (a.is_array) {
        if (!Array.isArray(v)) r.errors.push(`${at(name)}: expected an array`);
        else v.forEach((e, i) => this.#checkValue(`${at(name)}[${i}]`, e, a, profiles, r));
      } else this.#checkValue(at(name), v, a, profiles, r);
      if (a.enum && a.sibling && typeof v === "number") {
        const caption = a.enum[String(v)]?.caption;
        const sibling = value[a.sibling];
        if (v === 99 && sibling === undefined) {
          r.warnings.push(`${at(a.sibling)}: ${name} is 99 (Other) but ${a.sibling} is missing`);
        } else if (v !== 99 && sibling !== undefined && caption && sibling !== caption) {
          r.warnings.push(`${at(a.sibling)}: "${sibling}" is not ${name} ${v}'s "${caption}"`);
        }
      }
    }
  }

  #checkValue(path: string, v: Json, a: Attribute, profiles: Set<string>, r: OcsfReport) {
    if (a.enum && !(String(v) in a.enum)) {
      r.errors.push(`${path}: ${JSON.stringify(v)} is not one of ${Object.keys(a.enum)}`);
    }
    if (!a.type.endsWith("_t")) {
      const object = a.type === "object" ? undefined : this.#object(a.type);
      if (object) this.#check(path, v, object, profiles, r);
      else if (typeof v !== "object" || v === null) r.errors.push(`${path}: expected an object`);
      return;
    }
    // Walk the type chain: a derived type adds its own regex, range or length to its base's.
    let type: string | undefined = a.type;
    while (type) {
      const t: Json = this.#types[type];
      if (!t) throw new Error(`schema: unknown type ${type}`);
      const fail = (what: string) => r.errors.push(`${path}: ${JSON.stringify(v)} ${what}`);
      switch (type) {
        case "string_t":
          if (typeof v !== "string") fail("is not a string");
          break;
        case "integer_t":
          if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) fail("is not an integer");
          break;
        case "long_t":
          if (!Number.isSafeInteger(v)) fail("is not a long integer");
          break;
        case "float_t":
          if (typeof v !== "number") fail("is not a number");
          break;
        case "boolean_t":
          if (typeof v !== "boolean") fail("is not a boolean");
          break;
      }
      if (typeof v === "string") {
        if (t.max_len !== undefined && v.length > t.max_len) fail(`is longer than ${t.max_len}`);
        if (t.regex && !new RegExp(t.regex).test(v)) fail(`does not match ${type}`);
      }
      if (t.range && typeof v === "number" && (v < t.range[0] || v > t.range[1])) {
        fail(`is outside ${t.range[0]}..${t.range[1]}`);
      }
      type = t.type;
    }
  }
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Merges `over` into a copy of `base`, objects key by key (enums add values). */
function deepMerge(base: Json, over: Json): Json {
  if (!isPlain(base) || !isPlain(over)) return structuredClone(over);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? deepMerge(base[k], v) : v;
  return out;
}
