// Parser vectors: input octets and the events they must give (rendered by
// tests/support/parse_log.hpp). command_parser_test.cpp runs each in one
// piece; split_test.cpp runs each again cut at every offset and in chunks.
// Each group quotes the spec section it checks (spec/natter.md).
#ifndef NATTER_TESTS_PROTO_VECTORS_HPP
#define NATTER_TESTS_PROTO_VECTORS_HPP

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace natter::test
{

struct vector_case
{
  const char* name;
  std::string input;
  std::vector<std::string> events;
};

/// Names the case in gtest's failure output.
inline void PrintTo(const vector_case& v, std::ostream* os)
{
  *os << v.name;
}

using namespace std::string_literals;

inline const std::vector<vector_case>& parser_vectors()
{
  static const std::vector<vector_case> cases = {
      // Section 4, framing: LF, CRLF and CR NUL end a line.
      {"Crlf", "NICK alice\r\n", {"NICK alice"}},
      {"BareLf", "NICK alice\n", {"NICK alice"}},
      {"CrNul", "NICK alice\r\0"s, {"NICK alice"}},
      {"Pipelined", "NICK a\r\nMSG hi\nPING 1\r\0WHO\r\n"s, {"NICK a", "MSG hi", "PING 1", "WHO"}},
      {"CrThenOtherIsContent", "MSG a\rb\r\n", {"E415"}},
      {"CrCrLf", "MSG a\r\r\n", {"E415"}},
      {"LoneCrAtStart", "\rMSG a\n", {"E415"}},
      {"EmptyLinesIgnored", "\r\n\n\r\0   \r\n \nPING\r\n"s, {"PING"}},
      {"UnterminatedNotExecuted", "PING 1\r\nMSG never", {"PING 1"}},
      {"UnterminatedCrNotExecuted", "PING 1\r\nMSG never\r", {"PING 1"}},

      // Section 7.1: verb [1*SP argument], verbs without case.
      {"VerbCaseInsensitive",
       "nick a\r\nMsG x\r\necho\r\nPinG\r\nwho\r\nHeLp\r\nquit\r\n",
       {"NICK a", "MSG x", "ECHO", "PING", "WHO", "HELP", "QUIT"}},
      {"RunOfSpacesIsOneSeparator", "MSG    hello\r\n", {"MSG hello"}},
      {"ArgumentKeptExactly", "MSG  two  spaces  \r\n", {"MSG two  spaces  "}},
      {"TabIsNotSeparator", "MSG\thi\r\n", {"E421 MSG\thi"}},
      {"TabInTextAllowed", "MSG a\tb\r\n", {"MSG a\tb"}},
      {"UnknownVerb", "FOO bar\r\n", {"E421 FOO"}},
      {"UnknownVerbLongerThanKnown", "NICKS a\r\nMSGX\r\n", {"E421 NICKS", "E421 MSGX"}},
      {"LeadingSpaceIsEmptyVerb", " MSG hi\r\n", {"E421"}},
      {"VerbOnlySpacesAfter", "MSG   \r\nECHO \r\nPING  \r\n", {"MSG", "ECHO", "PING"}},
      {"UnicodeVerbUnknown", "N\xC3\xA9ICK a\r\n", {"E421 N\xC3\xA9ICK"}},

      // Section 7.2: NICK.
      {"NickValid16", "NICK abcdefghijklmnop\r\n", {"NICK abcdefghijklmnop"}},
      {"NickTooLong", "NICK abcdefghijklmnopq\r\n", {"E432 abcdefghijklmnopq"}},
      {"NickChars", "NICK a-b_C9\r\n", {"NICK a-b_C9"}},
      {"NickStartsWithDigit", "NICK 9lives\r\n", {"E432 9lives"}},
      {"NickStartsWithDash", "NICK -x\r\n", {"E432 -x"}},
      {"NickBadChar", "NICK al.ice\r\n", {"E432 al.ice"}},
      {"NickNonAscii", "NICK \xC3\xA9ric\r\n", {"E432 \xC3\xA9ric"}},
      {"NickTrailingSpaces", "NICK alice   \r\n", {"NICK alice"}},
      {"NickTwoWords", "NICK alice bob\r\n", {"E432 alice bob"}},
      {"NickMissing", "NICK\r\nNICK    \r\n", {"E400 NICK", "E400 NICK"}},

      // Sections 7.3 - 7.8: arguments of the other commands.
      {"MsgWithoutText", "MSG\r\n", {"MSG"}},
      {"PingTokenWithSpaces", "PING a b  c\r\n", {"PING a b  c"}},
      {"QuitReason", "QUIT gone fishing\r\n", {"QUIT gone fishing"}},
      {"WhoArgumentIgnoredButKept", "WHO x\r\n", {"WHO x"}},

      // Section 7.10: TELL <nick> <text>; the nick is quoted back by 434
      // only when it is a nick-arg, so any other is refused (400).
      {"TellNickAndText", "TELL bob hi there\r\n", {"TELL bob :hi there"}},
      {"TellRunOfSpacesAfterNick",
       "tell Bob  are you there?  \r\n",
       {"TELL Bob :are you there?  "}},
      {"TellNickArgNotANick",
       "TELL 9lives x\r\nTELL a.b,c x\r\n",
       {"TELL 9lives :x", "TELL a.b,c :x"}},
      {"TellNickArgStartsWithUtf8",
       "TELL \xC3\x9C"
       "ber x\r\n",
       {"TELL \xC3\x9C"
        "ber :x"}},
      {"TellNickArgUtf8Later", "TELL b\xC3\xBC x\r\n", {"TELL? b\xC3\xBC :x"}},
      {"TellTabInNick", "TELL b\tb x\r\n", {"TELL? b\tb :x"}},
      {"TellWithoutText",
       "TELL bob\r\nTELL bob   \r\nTELL\r\nTELL   \r\n",
       {"TELL? bob", "TELL? bob", "TELL?", "TELL?"}},
      {"TellTextWithTab", "TELL bob \tx\r\n", {"TELL bob :\tx"}},
      {"TellisUnknown", "TELLS bob x\r\n", {"E421 TELLS"}},

      // Section 7.11: HISTORY [<count> | AFTER <id>], trailing spaces
      // ignored; anything else is refused (400).
      {"HistoryAlone", "HISTORY\r\nhistory   \r\n", {"HISTORY", "HISTORY"}},
      {"HistoryCount", "HISTORY 1\r\nHISTORY 999999999  \r\n", {"HISTORY 1", "HISTORY 999999999"}},
      {"HistoryAfter",
       "HISTORY AFTER 0\r\nhistory after  12 \r\nHISTORY aFtEr 3\r\n",
       {"HISTORY AFTER 0", "HISTORY AFTER 12", "HISTORY AFTER 3"}},
      {"HistoryAfterTwentyDigits",
       "HISTORY AFTER 99999999999999999999\r\n",
       {"HISTORY AFTER 99999999999999999999"}},
      {"HistoryBadArguments",
       "HISTORY last\r\nHISTORY 0\r\nHISTORY 01\r\nHISTORY 1000000000\r\nHISTORY -1\r\n"
       "HISTORY AFTER\r\nHISTORY AFTER 01\r\nHISTORY AFTER 123456789012345678901\r\n"
       "HISTORY 1 2\r\nHISTORY AFTER 1 2\r\nHISTORY AFTER1\r\nHISTORY 1\t\r\n",
       {"HISTORY?", "HISTORY?", "HISTORY?", "HISTORY?", "HISTORY?", "HISTORY?", "HISTORY?",
        "HISTORY?", "HISTORY?", "HISTORY?", "HISTORY?", "HISTORY?"}},
      {"HistoryIsAVerbOfItsOwn", "HISTORYX\r\nHISTOR\r\n", {"E421 HISTORYX", "E421 HISTOR"}},

      // Section 7.12: IDS, its argument ignored (but kept, as WHO's).
      {"Ids", "IDS\r\nids  x y\r\n", {"IDS", "IDS x y"}},

      // Section 5: UTF-8 kept intact; everything else is 415.
      {"Utf8Intact",
       "MSG gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80\r\n",
       {"MSG gr\xC3\xBC\xC3\x9F \xE2\x82\xAC \xF0\x9F\x98\x80"}},
      {"Utf8Boundaries",
       "MSG \xC2\xA0\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\r\n",
       {"MSG \xC2\xA0\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"}},
      {"OverlongTwo", "MSG \xC0\x80\r\n", {"E415"}},
      {"OverlongTwoC1", "MSG \xC1\xBF\r\n", {"E415"}},
      {"OverlongThree", "MSG \xE0\x80\xAF\r\n", {"E415"}},
      {"OverlongFour", "MSG \xF0\x80\x80\xAF\r\n", {"E415"}},
      {"Surrogate", "MSG \xED\xA0\x80\r\n", {"E415"}},
      {"SurrogateLow", "MSG \xED\xBF\xBF\r\n", {"E415"}},
      {"AboveMax", "MSG \xF4\x90\x80\x80\r\n", {"E415"}},
      {"F5Lead", "MSG \xF5\x80\x80\x80\r\n", {"E415"}},
      {"LoneContinuation", "MSG \x80\r\n", {"E415"}},
      {"TruncatedSequence", "MSG \xE2\x82\r\n", {"E415"}},
      {"TruncatedBeforeAscii", "MSG \xC3x\r\n", {"E415"}},
      {"C1Controls",
       "MSG \xC2\x80\r\nMSG \xC2\x9F\r\nMSG \xC2\x9B[2J\r\n",
       {"E415", "E415", "E415"}},
      {"C0Controls", "MSG a\x01\r\nMSG \x1B[31m\r\nMSG a\x7F\r\n", {"E415", "E415", "E415"}},
      {"NulInLine", "MSG a\0b\r\n"s, {"E415"}},
      {"InvalidBeatsUnknown", "FOO \x01\r\n", {"E415"}},
      {"InvalidInVerb", "MS\x01G hi\r\n", {"E415"}},
      {"InvalidThenValid", "MSG \xFE\r\nPING\r\n", {"E415", "PING"}},
      {"BidiAllowedInText",
       "MSG \xE2\x80\xAE"
       "abc\xE2\x81\xA9\r\n",
       {"MSG \xE2\x80\xAE"
        "abc\xE2\x81\xA9"}},

      // Section 6: telnet sequences are removed anywhere.
      {"IacIacRemoved", "MS\xFF\xFFG hi\r\n", {"MSG hi"}},
      {"IacNopInLine", "MSG h\xFF\xF1i\r\n", {"MSG hi"}},
      {"IacSeAloneRemoved", "PI\xFF\xF0NG\r\n", {"PING"}},
      {"IacBetweenCrAndLf", "PING\r\xFF\xF1\n", {"PING"}},
      {"IacBetweenCrAndNul", "PING\r\xFF\xF1\0"s, {"PING"}},
      {"IacWillAnswered", "\xFF\xFB\x18PING\r\n", {"T251 24", "PING"}},
      {"IacDoTimingMark", "PING 1\r\n\xFF\xFD\x06", {"PING 1", "T253 6"}},
      {"IacWontDontReported", "\xFF\xFC\x01\xFF\xFE\x01", {"T252 1", "T254 1"}},
      {"TelnetInMiddleKeepsOrder", "PI\xFF\xFD\x06NG\r\n", {"T253 6", "PING"}},
      {"SubnegotiationSkipped", "PI\xFF\xFA\x18\x00xterm\r\n\xFF\xF0NG\r\n"s, {"PING"}},
      {"SubnegotiationEscapedIac", "\xFF\xFA\x01\xFF\xFF\n\xFF\xF0PING\r\n", {"PING"}},
      {"SubnegotiationIacSbContinues", "\xFF\xFA\x01\xFF\xFA\n\xFF\xF0PING\r\n", {"PING"}},
      {"SubnegotiationEndedByCommand", "\xFF\xFA\x01\nx\xFF\xFD\x06PING\r\n", {"T253 6", "PING"}},
      {"IpDiscardsPartialLine", "MSG typo\xFF\xF4PING\r\n", {"PING"}},
      {"IpAfterCr", "MSG x\r\xFF\xF4PING\r\n", {"PING"}},
      // N-TELNET-17: IP discards the CR before it, so the LF ends an empty
      // line, not the CRLF of "MSG x".
      {"CrIpLfIsAnEmptyLine", "MSG x\r\xFF\xF4\nPING\r\n", {"PING"}},
      {"CrCrLfContentEndsInCr", "\r\r\nECHO a\r\r\nPING\r\n", {"E415", "E415", "PING"}},
      {"IpTimingMarkLikeNetkit", "MSG half\xFF\xF4\xFF\xFD\x06PING\r\n", {"T253 6", "PING"}},
      {"IacAtLineStart", "\xFF\xF1PING\r\n", {"PING"}},
      {"IacOnlyLineIgnored", "\xFF\xF1\r\n", {}},

      // Section 6.4: while a character is incomplete, IAC IP, AO, SUSP, BRK
      // and ABORT stand for 0x83, 0x8F, 0x9A, 0x9C and 0x9C, and an IP
      // discards nothing [N-TELNET-18]; outside one they keep their meaning
      // of sections 6.1 and 6.3 [N-TELNET-19].
      {"IpInsideCharacterIsData", "MSG \xC3\xFF\xF4\r\n", {"MSG Ã"}},
      {"EachCommandInsideCharacter",
       "MSG \xC3\xFF\xF4\xC3\xFF\xF5\xC3\xFF\xED\xC3\xFF\xF3\xC3\xFF\xEE\r\n",
       {"MSG ÃÏÚÜÜ"}},
      {"AbortInsideCharacter", "MSG \xE2\xFF\xEE\x93\r\n", {"MSG ✓"}},
      {"CommandAsLastOfFour", "MSG \xF0\x9F\x98\xFF\xF4\xFF\xFD\x06\n", {"T253 6", "MSG 😃"}},
      {"CommandsAsSecondAndThird", "MSG \xE2\xFF\xF3\xFF\xF5!\r\n", {"MSG ✏!"}},
      {"IpAfterCompleteCharacterDiscards", "MSG \xC3\xA9\xFF\xF4PING\r\n", {"PING"}},
      {"OthersAfterCompleteCharacterRemoved",
       "MSG \xC3\xA9\xFF\xF5\xFF\xED\xFF\xF3\xFF\xEEx\r\n",
       {"MSG éx"}},
      {"IpAfterInvalidLeadDiscards",
       "MSG \xC0\xFF\xF4PING 1\r\nMSG \xF5\xFF\xF4PING 2\r\nMSG \xC1\xFF\xF3\r\n",
       {"PING 1", "PING 2", "E415"}},
      {"IpAfterStrayContinuationDiscards", "MSG \x80\xFF\xF4PING\r\n", {"PING"}},
      // The IP completes the character; the octet after it is outside.
      {"IpThenNonContinuationEndsCharacter",
       "MSG \xE2\xFF\xF4x\r\nMSG \xE2\xFF\xF4x\xFF\xF4PING\r\n",
       {"E415", "PING"}},
      {"LeadAfterCommandStartsCharacter", "MSG \xE2\xFF\xF4\xC3\xFF\xF4\r\n", {"E415"}},
      // E0 83 is an overlong form: the line is invalid, not discarded, and
      // the character still has an octet due.
      {"IpAsSecondOctetAfterE0",
       "ECHO \xE0\xFF\xF4\x80\r\nECHO \xE0\xFF\xF4PING\r\n",
       {"E415", "E415"}},
      {"IpAfterE0CountsOn",
       "MSG \xE0\xFF\xF4\xFF\xF4PING\r\nMSG \xE0\xFF\xF4\xFF\xF4\xFF\xF4PING\r\n",
       {"E415", "PING"}},
      {"InvalidSecondOctetCountsOn",
       "MSG \xE0\x80\xFF\xF4PING\r\nMSG \xED\xA0\xFF\xF4x\r\n",
       {"E415", "E415"}},
      {"CommandAfterC2IsC1Control",
       "MSG \xC2\xFF\xF4\r\nMSG \xC2\xFF\xF4\xFF\xF4PING\r\n",
       {"E415", "PING"}},
      {"SecondOctetRanges",
       "MSG \xED\xFF\xF3\x80\xF0\xFF\xED\x80\x80\xF4\xFF\xF5\xBF\xBF\r\n"
       "MSG \xF0\xFF\xF4\x80\x80\r\nMSG \xF4\xFF\xED\x80\x80\r\n",
       {"MSG \xED\x9C\x80\xF0\x9A\x80\x80\xF4\x8F\xBF\xBF", "E415", "E415"}},
      {"F0ThenIpsCountsToThree",
       "MSG \xF0\xFF\xF4\xFF\xF4\xFF\xF4PING\r\n"
       "MSG \xF0\xFF\xF4\xFF\xF4\xFF\xF4\xFF\xF4PING\r\n",
       {"E415", "PING"}},
      {"InvalidLineStillCountsCharacters",
       "MSG \x01\xC3\xFF\xF4PING\r\nMSG \x01\xC3\xA9\xFF\xF4PING\r\n",
       {"E415", "PING"}},
      {"CrInsideInvalidLineEndsCharacter",
       "MSG \x01\xC3\rx\xFF\xF4PING\r\nMSG \x01\r\xC3\xFF\xF4PING\r\n",
       {"PING", "E415"}},
      {"CrInsideCharacterThenIp", "MSG \xC3\r\xFF\xF4\nPING\r\n", {"PING"}},
      // Only data octets count: not IAC IAC, negotiation or a subnegotiation.
      {"IacIacInsideCharacterNotData", "MSG \xC3\xFF\xFF\xFF\xF4\r\n", {"MSG Ã"}},
      {"NegotiationInsideCharacterNotData",
       "MSG \xC3\xFF\xFB\x18\xFF\xF4\r\n",
       {"T251 24", "MSG Ã"}},
      {"SubnegotiationInsideCharacterNotData",
       "MSG \xC3\xFF\xFA\x18\x80\x80\xFF\xF0\xFF\xF4\r\nMSG \xC3\xFF\xFA\x18\xA9\xFF\xF4\r\n",
       {"MSG Ã", "MSG Ã"}},
      {"SubnegotiationInsideInvalidCharacterNotData",
       "MSG \x01\xC3\xFF\xFA\x18\x80\xFF\xF0\xFF\xF4PING\r\n",
       {"E415"}},
      {"LineEndEndsCharacter",
       "MSG \xC3\r\n\xFF\xF4PING\r\nMSG \x01\xC3\n\xFF\xF4PING\r\n",
       {"E415", "PING", "E415", "PING"}},
      {"CommandInsideVerb",
       "NI\xC3\xFF\xF4"
       "CK a\r\n",
       {"E421 NIÃCK"}},
  };
  return cases;
}

} // namespace natter::test

#endif // NATTER_TESTS_PROTO_VECTORS_HPP
