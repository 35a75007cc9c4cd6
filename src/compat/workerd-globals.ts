/**
 * The module every party bundle imports first (its banner): installs the workerd globals
 * (install-globals.ts) before any party code runs.
 */
import { installWorkerdGlobals } from "./install-globals.js";

installWorkerdGlobals();
