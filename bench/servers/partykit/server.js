// partykit refuses a main outside its folder; the party itself is shared with partyhouse.
export { default } from "../party.js";
