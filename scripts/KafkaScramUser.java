// Creates a SCRAM-SHA-512 user or changes its password on a running broker, through the Admin
// API of the kafka-clients jar that every Kafka version's jar set has (kafka-configs' class
// moved between 3.x and 4.x). Run by `scripts/kafka user` in Java's single-file source mode:
//   java -cp 'LIBS/*' scripts/KafkaScramUser.java BOOTSTRAP NAME PASSWORD
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

public class KafkaScramUser {
  public static void main(String[] args) throws Exception {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]))) {
      ScramCredentialInfo info = new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192);
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(args[1], info, args[2])))
          .all()
          .get();
    }
  }
}
