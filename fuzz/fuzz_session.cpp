// Up to 8 simulated clients, each a core::connection (the state machine
// natterd's connections run), share natter_core's room, with the input
// choosing who connects, sends which octets (MSG, TELL, HISTORY, IDS among
// them), stops reading, half-closes or disconnects, and how time passes.
// Checks (spec/natter.md sections 7, 8, 9 and 12): nicks stay unique
// ignoring case; every line a client receives is a well-formed server line
// (telnet answers only between lines); a tagged MSG reaches only others
// (and its sender after IDS), carries a nick its sender asked for, and
// arrives in the order sent; every client sees every room message exactly
// once across HISTORY and live lines, with the id, nick, text and time the
// room gave it (session_sim.hpp); TELL reaches the nick's holder, once, and
// has no id; open send queues stay within their limit; the server-wide
// total equals the sum of the queues; the room's log keeps only the chunks
// its readers hold, and no reader a chunk of its own events; a dropped slow
// consumer holds only a line's rest and its 524; a closing connection is
// over by its flush deadline; where step_due() lets natterd skip step(),
// step() answers as it last did.
#include "check.hpp"
#include "session_sim.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  natter::fuzz::input in(data, size);
  natter::fuzz::world w(in.byte());
  while (!in.empty())
  {
    const std::uint8_t op = in.byte();
    const std::size_t slot = in.byte() % natter::fuzz::world::slots;
    switch (op % 12)
    {
    case 0: w.connect(slot); break;
    case 1: w.send_raw(slot, in.bytes(1 + in.byte() % 96)); break;
    case 2: w.send(slot, "NICK n" + std::to_string(in.byte() % 12) + "\r\n"); break;
    case 3: w.send_tagged(slot, in.bytes(in.byte() % 24)); break;
    case 4: w.toggle_reading(slot); break;
    case 5: w.disconnect(slot); break;
    case 6: w.half_close(slot); break;
    case 7: w.advance(std::chrono::milliseconds(in.byte() * 40)); break;
    case 8: w.send(slot, op & 0x80 ? "WHO\r\n" : "PING x\r\n"); break;
    case 9: w.send_tell(slot, in.byte(), in.bytes(in.byte() % 24)); break;
    case 10:
    {
      const std::uint8_t n = in.byte();
      w.send(slot, n < 96    ? std::string("HISTORY\r\n")
                   : n < 176 ? "HISTORY " + std::to_string(n % 12 + 1) + "\r\n"
                             : "HISTORY AFTER " + std::to_string(n % 40) + "\r\n");
      break;
    }
    case 11: w.send(slot, "IDS\r\n"); break;
    }
    w.pump();
    w.check_invariants();
  }
  w.finish();
  return 0;
}
