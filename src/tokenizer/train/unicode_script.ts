// Unicode script of a code point, as SentencePiece's trainer uses it to keep pieces inside
// one script (split_by_unicode_script). Only equality of scripts matters, so a script is a
// small integer. Code points of no script (unassigned) count as Common, as in the library.
// The table comes from the JavaScript engine's Unicode data (\p{Script=...}).

const SCRIPT_NAMES = (
  "Common Inherited Latin Han Hangul Hiragana Katakana Cyrillic Greek Arabic Hebrew Devanagari " +
  "Thai Adlam Ahom Anatolian_Hieroglyphs Armenian Avestan Balinese Bamum Bassa_Vah Batak Bengali " +
  "Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal Carian Caucasian_Albanian " +
  "Chakma Cham Cherokee Chorasmian Coptic Cuneiform Cypriot Cypro_Minoan Deseret Dives_Akuru Dogra " +
  "Duployan Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Georgian Glagolitic Gothic Grantha " +
  "Gujarati Gunjala_Gondi Gurmukhi Hanifi_Rohingya Hanunoo Hatran Imperial_Aramaic " +
  "Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi Kannada Kawi Kayah_Li Kharoshthi " +
  "Khitan_Small_Script Khmer Khojki Khudawadi Lao Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian " +
  "Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek " +
  "Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar " +
  "Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham " +
  "Ol_Chiki Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian " +
  "Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau " +
  "Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada Shavian Siddham " +
  "SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Syloti_Nagri Syriac Tagalog Tagbanwa " +
  "Tai_Le Tai_Tham Tai_Viet Takri Tamil Tangsa Tangut Telugu Thaana Tibetan Tifinagh Tirhuta Toto " +
  "Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square Garay Gurung_Khema Kirat_Rai " +
  "Ol_Onal Sunuwar Todhri Tulu_Tigalari"
).split(" ");

/** Script ids of the scripts the trainer treats specially. */
export const SCRIPT_COMMON = 0;
export const SCRIPT_INHERITED = 1;
export const SCRIPT_HAN = 3;
export const SCRIPT_HIRAGANA = 5;
export const SCRIPT_KATAKANA = 6;

// Scripts the running engine knows; names it does not know (older Unicode) are left out.
const PATTERNS: Array<[number, RegExp]> = [];
SCRIPT_NAMES.forEach((name, id) => {
  try {
    PATTERNS.push([id, new RegExp(`^\\p{Script=${name}}$`, "u")]);
  } catch {
    // not in this engine's Unicode version
  }
});

const cache = new Map<number, number>();

/** The script id of code point `c` (SCRIPT_COMMON when it has none). */
export function scriptOf(c: number): number {
  // ASCII fast path: letters are Latin, everything else Common.
  if (c < 0x80) return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ? 2 : SCRIPT_COMMON;
  const hit = cache.get(c);
  if (hit !== undefined) return hit;
  let id = SCRIPT_COMMON;
  if (c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff)) {
    const s = String.fromCodePoint(c);
    for (const [sid, re] of PATTERNS) {
      if (re.test(s)) {
        id = sid;
        break;
      }
    }
  }
  cache.set(c, id);
  return id;
}
