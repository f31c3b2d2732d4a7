# natter lexical classes (spec/natter.md section 5 "Text encoding" and
# section 17 "Collected ABNF"). Character classes and tokens only: no actions.
%%{
  machine natter_lexical;

  sp         = ' ';
  tab        = 0x09;

  # Text: UTF-8 per RFC 3629 (no overlong forms, no surrogates, nothing above
  # U+10FFFF) without C0 controls other than TAB, without DEL and without the
  # C1 controls U+0080-U+009F (which are C2 80 .. C2 9F in UTF-8).
  utf8_tail  = 0x80..0xBF;
  ascii_text = 0x20..0x7E | tab;
  utf8_2     = 0xC2 0xA0..0xBF | 0xC3..0xDF utf8_tail;
  utf8_3     = 0xE0 0xA0..0xBF utf8_tail
             | 0xE1..0xEC utf8_tail utf8_tail
             | 0xED 0x80..0x9F utf8_tail
             | 0xEE..0xEF utf8_tail utf8_tail;
  utf8_4     = 0xF0 0x90..0xBF utf8_tail utf8_tail
             | 0xF1..0xF3 utf8_tail utf8_tail utf8_tail
             | 0xF4 0x80..0x8F utf8_tail utf8_tail;
  text_char  = ascii_text | utf8_2 | utf8_3 | utf8_4;
  nonsp_char = (0x21..0x7E | tab) | utf8_2 | utf8_3 | utf8_4;

  # Nicks: a letter, then up to 15 letters, digits, '_' or '-' (section 7.2).
  nick_first = [A-Za-z];
  nick_char  = [A-Za-z0-9_\-];
  nick       = nick_first nick_char{0,15};

  # The verbs of protocol version 1 (section 7), matched without case.
  known_verb = 'NICK'i | 'MSG'i | 'ECHO'i | 'PING'i | 'WHO'i | 'HELP'i | 'QUIT'i
             | 'TELL'i | 'HISTORY'i | 'IDS'i;
}%%
