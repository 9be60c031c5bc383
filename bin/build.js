#!/usr/bin/env node
// `npm run build`: bundles the actors into dist/actor-child.mjs, what Weatherlight runs its children
// from (actors/weatherlight/child-bundle.ts). `esper up` rebuilds it by itself when a source is newer.
import { register } from "tsx/esm/api";

register();
const { buildActorBundle } = await import("../actors/weatherlight/child-bundle.ts");
const build = await buildActorBundle();
process.stdout.write(`built ${build.path} from ${build.inputs} sources in ${build.buildMs} ms\n`);
